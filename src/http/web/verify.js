// The verify page's one script (served as /verify.js; hand-written, no build step). It checks a
// certificate in this browser with the verifier kernel compiled to WebAssembly
// (verifier/wasm; its address and the lists' are the data-* attributes of #browser-check): the
// QR text, the photo and the camera's frames never leave the device. Inputs: the link a phone
// camera opens from the printed QR code, <verify URL>#VH1:... (docs/formats.md §1.4: a browser
// never sends the part after '#'); a live camera scan (getUserMedia; each frame drawn on a
// canvas and read by the module's QR reader, the one `sagat-verify --image` uses); a photo or
// scan chosen in the photo form (drawn and read the same way); a certificate PDF chosen there or
// dropped on the page (checked down to its evidence, as sagat-verify --pdf does); text pasted
// into the form. The
// trust list, status list and operator key come from this server (the same the API serves).
// If the module or the lists cannot be had, the forms are sent to the server as without
// JavaScript.
(function () {
  "use strict";
  var box = document.getElementById("qr_text");
  var form = document.getElementById("verify-form");
  var out = document.getElementById("browser-check");
  if (!box || !form || !out) {
    return;
  }
  var texts = JSON.parse(out.getAttribute("data-texts"));
  var url = function (name) { return out.getAttribute("data-" + name); };
  var kernel = null;

  // The static folder's English page (sagat verify-site) opens the Kazakh or Russian one when
  // the browser prefers it and no language was chosen; the fragment (a certificate) goes along.
  var pages = url("pick-lang");
  if (pages && !/[?&]lang=/.test(window.location.search)) {
    var preferred = (navigator.languages || [navigator.language || ""]).map(function (l) {
      return String(l).slice(0, 2).toLowerCase();
    });
    for (var i = 0; i < preferred.length && preferred[i] !== "en"; i++) {
      if (preferred[i] === "kk" || preferred[i] === "ru") {
        window.location.replace(preferred[i] + ".html?lang=" + preferred[i] + window.location.hash);
        return;
      }
    }
  }

  // Kept for offline use (the page, this script, the verifier and the lists): see sw.js.
  if ("serviceWorker" in navigator && url("worker")) {
    navigator.serviceWorker.register(url("worker"), { scope: url("scope") }).catch(function () {});
  }

  function load() {
    if (!kernel) {
      kernel = Promise.all([
        // Compiled from the bytes, not streamed: a static host may not send application/wasm.
        fetch(url("wasm")).then(ok).then(function (r) { return r.arrayBuffer(); })
          .then(function (bytes) { return WebAssembly.instantiate(bytes, {}); }),
        fetch(url("trust")).then(ok).then(function (r) { return r.text(); }),
        fetch(url("status")).then(ok).then(function (r) { return r.arrayBuffer(); }),
        fetch(url("root")).then(ok).then(function (r) { return r.text(); })
      ]).then(function (parts) {
        return {
          exports: parts[0].instance.exports,
          trust: parts[1],
          status: base64(new Uint8Array(parts[2])),
          root: parts[3].trim()
        };
      });
    }
    return kernel;
  }

  function ok(response) {
    if (!response.ok) {
      throw new Error(response.url + ": " + response.status);
    }
    return response;
  }

  function base64(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return btoa(s);
  }

  // The bytes into the module's input buffer.
  function input(k, bytes) {
    var at = k.exports.sagat_input(bytes.length);
    new Uint8Array(k.exports.memory.buffer, at, bytes.length).set(bytes);
  }

  // One call into the module; its output's length.
  function call(k, exported) {
    try {
      return exported();
    } catch (trap) {
      // The module aborted on a panic: say why, and start a fresh one next time.
      kernel = null;
      throw new Error(output(k, k.exports.sagat_panic()) || String(trap));
    }
  }

  // The request in the module's input buffer, the answer from its output. `given` is
  // { qr: text } or { pdf: base64 } (a certificate PDF: its evidence is checked too).
  function check(k, given) {
    input(k, new TextEncoder().encode(JSON.stringify({
      qr: given.qr || "", pdf: given.pdf || null, trust: k.trust, status: k.status,
      root: k.root, now: Math.floor(Date.now() / 1000)
    })));
    return JSON.parse(output(k, call(k, k.exports.sagat_verify)));
  }

  // Larger images are drawn smaller first: the reader scales them to this long side anyway
  // (sagat-verify-image's MAX_SIDE).
  var MAX_SIDE = 4200;

  // The credential QR text in an image or a video frame, read on this device; null if none.
  function readPixels(k, source, width, height) {
    var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    var w = Math.max(1, Math.round(width * scale));
    var h = Math.max(1, Math.round(height * scale));
    var canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0, w, h);
    input(k, context.getImageData(0, 0, w, h).data);
    var len = call(k, function () { return k.exports.sagat_read_qr(w, h); });
    return len ? output(k, len) : null;
  }

  function output(k, len) {
    var from = k.exports.sagat_output();
    return new TextDecoder().decode(new Uint8Array(k.exports.memory.buffer, from, len));
  }

  function hours(minutes) {
    var h = minutes % 60 === 0 ? String(minutes / 60) : (minutes / 60).toFixed(2);
    return h + " " + texts.hours_unit;
  }

  // How long ago, in the page's language (the status list's age): minutes, hours or days.
  function ago(secs) {
    var minutes = Math.max(0, Math.round((Date.now() / 1000 - secs) / 60));
    var n = minutes < 60 ? minutes : minutes < 2880 ? Math.round(minutes / 60) : Math.round(minutes / 1440);
    var unit = minutes < 60 ? "age_minutes" : minutes < 2880 ? "age_hours" : "age_days";
    return texts[unit].replace("{n}", String(n));
  }

  // A form the script could not check: to the server, as without JavaScript; in the static
  // folder there is none, so say so.
  function fallback(f) {
    if (f.getAttribute("data-server") === "never") {
      say(texts.no_verifier);
      return;
    }
    f.setAttribute("data-server", "1");
    f.submit();
  }

  function when(secs) {
    return new Date(secs * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function row(table, label, value, attrs, head) {
    var tr = el("tr", {});
    tr.appendChild(el(head === false ? "td" : "th", {}, label));
    tr.appendChild(el("td", attrs || {}, value));
    table.appendChild(tr);
  }

  // The answer, built with textContent only (nothing from the certificate is parsed as HTML).
  function show(a) {
    out.textContent = "";
    var verdict = el("div", {
      "class": "verdict " + a.verdict, id: "verdict", "data-verdict": a.verdict,
      "data-checked": "browser"
    }, texts.verdict[a.verdict]);
    out.appendChild(verdict);
    if (texts.why[a.meaning]) {
      out.appendChild(el("p", { id: "verdict-why" }, texts.why[a.meaning]));
    }
    if (a.detail) {
      out.appendChild(el("p", { "class": "muted" }, a.code + ": " + a.detail));
    }
    var table = el("table", { "class": "facts" });
    if (a.holder) { row(table, texts.holder, a.holder, { id: "verdict-holder" }); }
    if (a.total_minutes !== null) { row(table, texts.total, hours(a.total_minutes)); }
    if (a.period) { row(table, texts.period, a.period[0] + " — " + a.period[1]); }
    if (a.issuer_name) { row(table, texts.issuer, a.issuer_name); }
    if (a.issued_at !== null) { row(table, texts.issued_on, when(a.issued_at).slice(0, 10)); }
    if (a.credential_id) { row(table, texts.credential, a.credential_id, { "class": "mono" }); }
    a.organizations.forEach(function (o) {
      row(table, o.name || ("#" + o.org_index), hours(o.minutes), {}, false);
    });
    out.appendChild(table);
    // Each check with its mark, in the kernel's order; those after a failed one were not made.
    out.appendChild(el("h2", {}, texts.checks));
    var list = el("ul", { id: "verdict-checks", "class": "checks" });
    a.checks.forEach(function (c) {
      var mark = { passed: "✓", failed: "✗", not_checked: "?", not_reached: "–" }[c[1]];
      var line = mark + " " + texts.check[c[0]];
      if (c[1] === "not_checked") { line += " (" + texts.not_checked + ")"; }
      list.appendChild(el("li", { "data-check": c[0], "data-outcome": c[1] }, line));
    });
    out.appendChild(list);
    if (a.evidence && a.evidence.outcome === "passed") {
      out.appendChild(el("p", { "class": "muted", id: "evidence-summary" },
        a.evidence.attestations + " " + texts.evidence_entries));
    } else if (a.evidence && a.evidence.entry !== null) {
      out.appendChild(el("p", { id: "evidence-summary" },
        texts.evidence_entry.replace("{n}", String(a.evidence.entry))));
    } else if (a.evidence && a.evidence.outcome === "missing") {
      out.appendChild(el("p", { id: "evidence-summary" }, texts.evidence_missing));
    }
    if (a.revocation_checked_at !== null) {
      var age = ago(a.revocation_checked_at);
      out.appendChild(el("p", { "class": "muted", id: "revocation-as-of" },
        texts.revocation_as_of + " " + when(a.revocation_checked_at) + (age ? " (" + age + ")" : "")));
    }
    out.appendChild(el("p", { "class": "muted", id: "checked-here" }, texts.checked_here));
    out.hidden = false;
  }

  // The last certificate checked in this tab, so that switching the page's language shows its
  // result again (kept on this device only, in the tab's session storage).
  var LAST = "sagat-verify-last";

  // `given`: the QR text, or { pdf: base64 }.
  function verifyHere(given) {
    if (typeof given === "string") {
      given = { qr: given };
    }
    return load().then(function (k) {
      var answer = check(k, given);
      if (answer.list_error) {
        throw new Error(answer.list_error);
      }
      show(answer);
      try {
        window.sessionStorage.setItem(LAST, JSON.stringify(given));
      } catch (e) { /* storage off or full: fine */ }
    });
  }

  form.addEventListener("submit", function (event) {
    if (form.getAttribute("data-server") === "1") {
      return;
    }
    event.preventDefault();
    verifyHere(box.value).catch(function () { fallback(form); });
  });

  var scanStatus = document.getElementById("scan-status");
  function say(text) {
    if (scanStatus) { scanStatus.textContent = text; }
  }

  // A photo or scan from the photo form: read here, never uploaded (unless the module or the
  // lists cannot be had: then the form goes to the server, as without JavaScript).
  // A certificate PDF chosen there, or dropped anywhere on the page, is checked here down to
  // its evidence (every counted hour back to its organization's signature and the log).
  var photoForm = document.getElementById("photo-form");
  var photo = document.getElementById("photo");
  if (photoForm && photo && window.createImageBitmap) {
    photo.setAttribute("accept", "image/*,application/pdf");
    var label = document.querySelector("label[for=photo]");
    if (label) { label.textContent = texts.photo_or_pdf; }
    photoForm.addEventListener("submit", function (event) {
      if (photoForm.getAttribute("data-server") === "1" || !photo.files.length) {
        return;
      }
      event.preventDefault();
      checkFile(photo.files[0]);
    });
    document.addEventListener("dragover", function (event) { event.preventDefault(); });
    document.addEventListener("drop", function (event) {
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length) {
        event.preventDefault();
        checkFile(files[0]);
      }
    });
  }

  function checkFile(file) {
    say(texts.photo_reading);
    load().then(function (k) {
      return file.arrayBuffer().then(function (buffer) {
        var bytes = new Uint8Array(buffer);
        if (String.fromCharCode.apply(null, bytes.subarray(0, 5)) === "%PDF-") {
          say("");
          return verifyHere({ pdf: base64(bytes) });
        }
        return createImageBitmap(file, { imageOrientation: "from-image" })
          .then(function (bitmap) {
            return readPixels(k, bitmap, bitmap.width, bitmap.height);
          }, function () { return null; })
          .then(function (qr) {
            if (!qr) {
              say(texts.photo_no_qr);
              return;
            }
            say("");
            return verifyHere(qr);
          });
      });
    }).catch(function () { fallback(photoForm); });
  }

  // The live camera scan: frames read here until one holds a certificate's QR code. The
  // page notes how long the last frame took to a text and to the verdict (data-read-ms,
  // data-verdict-ms on #browser-check), which the browser test records.
  var camera = document.getElementById("camera");
  var video = document.getElementById("camera-view");
  var startButton = document.getElementById("camera-start");
  var stopButton = document.getElementById("camera-stop");
  var stream = null;
  if (camera && video && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    camera.hidden = false;
    startButton.addEventListener("click", startCamera);
    stopButton.addEventListener("click", stopCamera);
  }

  function startCamera() {
    load().then(function (k) {
      return navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: "environment", width: { ideal: 1920 }, height: { ideal: 1080 } }
      }).then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        stopButton.hidden = false;
        startButton.hidden = true;
        say(texts.camera_looking);
        return video.play().then(function () { scan(k); });
      });
    }).catch(function () {
      stopCamera();
      say(texts.camera_denied);
    });
  }

  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
  }

  function scan(k) {
    if (!stream) {
      return;
    }
    var qr = null;
    var started = performance.now();
    if (video.readyState >= 2 && video.videoWidth) {
      qr = readPixels(k, video, video.videoWidth, video.videoHeight);
    }
    if (!qr) {
      // The next frame after a pause, so that the page stays responsive.
      setTimeout(function () { scan(k); }, 100);
      return;
    }
    var read = performance.now();
    stopCamera();
    say("");
    verifyHere(qr).then(function () {
      out.setAttribute("data-read-ms", String(Math.round(read - started)));
      out.setAttribute("data-verdict-ms", String(Math.round(performance.now() - started)));
    }, function () {
      box.value = qr;
      fallback(form);
    });
  }

  var last = null;
  try { last = window.sessionStorage.getItem(LAST); } catch (e) { /* storage off */ }
  if (window.location.hash.length <= 5 && last && /[?&]lang=/.test(window.location.search)) {
    var given = null;
    try { given = JSON.parse(last); } catch (e) { /* an older copy: the text itself */ }
    given = given && typeof given === "object" ? given : { qr: last };
    box.value = given.qr || "";
    verifyHere(given).catch(function () { /* the form is still there */ });
  }

  if (window.location.hash.length > 5) {
    var link = window.location.href;
    // A reload or a shared address bar then shows the plain page, not the certificate again.
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    box.value = link;
    verifyHere(link).catch(function () { fallback(form); });
  }
})();
