// The organization page's CSV upload with progress (served as /org-upload.js, the only script
// of that page). Without it the form posts as usual; with it the same form is sent by
// XMLHttpRequest so the page can say how much is sent, then that the server is checking the
// rows, and then opens the result page the server answered with (its 303 was followed).
"use strict";
(function () {
  const form = document.getElementById("csv-form");
  const bar = document.getElementById("csv-progress");
  const status = document.getElementById("csv-status");
  if (!form || !bar || !status || !window.XMLHttpRequest || !window.FormData) return;
  const say = (text) => { status.textContent = text; };
  form.dataset.enhanced = "1";
  form.addEventListener("submit", (ev) => {
    const file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.floor((100 * e.loaded) / e.total);
      bar.value = percent;
      say(form.dataset.sending.replace("{p}", String(percent)));
    };
    xhr.upload.onload = () => {
      bar.removeAttribute("value"); // indeterminate while the server checks
      say(form.dataset.checking);
    };
    xhr.onload = () => { window.location.assign(xhr.responseURL || form.action); };
    xhr.onerror = () => {
      button.disabled = false;
      bar.hidden = true;
      say(form.dataset.failed);
    };
    xhr.send(new FormData(form));
  });
})();
