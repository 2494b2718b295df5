// The verify page's one script (served as /verify.js, no build step). A phone camera that scans
// a certificate opens its link, <verify URL>#VH1:... (docs/formats.md §1.4); a browser never
// sends the part after '#' to a server, so this hands the whole link to the check form below,
// which takes the link as it is. Without JavaScript the page is the same form.
(function () {
  "use strict";
  if (window.location.hash.length < 6) {
    return;
  }
  var box = document.getElementById("qr_text");
  var form = document.getElementById("verify-form");
  if (!box || !form) {
    return;
  }
  box.value = window.location.href;
  // A reload or a shared address bar then shows the plain page, not the certificate again.
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  form.submit();
})();
