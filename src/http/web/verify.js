// The verify page's one script (served as /verify.js; hand-written, no build step). It checks a
// certificate in this browser with the verifier kernel compiled to WebAssembly
// (verifier/wasm; its address and the lists' are the data-* attributes of #browser-check): the
// QR text never leaves the device. Inputs: the
// link a phone camera opens from the printed QR code, <verify URL>#VH1:... (docs/formats.md
// §1.4: a browser never sends the part after '#'), and text pasted into the form. The trust
// list, status list and operator key come from this server (the same the API serves). If any of
// that fails, the form is sent to the server as without JavaScript.
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

  // Kept for offline use (the page, this script, the verifier and the lists): see sw.js.
  if ("serviceWorker" in navigator && url("worker")) {
    navigator.serviceWorker.register(url("worker"), { scope: url("scope") }).catch(function () {});
  }

  function load() {
    if (!kernel) {
      kernel = Promise.all([
        WebAssembly.instantiateStreaming(fetch(url("wasm")), {}),
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

  // One call into the module: the request in its input buffer, the answer from its output.
  function check(k, qr) {
    var request = new TextEncoder().encode(JSON.stringify({
      qr: qr, trust: k.trust, status: k.status, root: k.root, now: Math.floor(Date.now() / 1000)
    }));
    var at = k.exports.sagat_input(request.length);
    new Uint8Array(k.exports.memory.buffer, at, request.length).set(request);
    var len;
    try {
      len = k.exports.sagat_verify();
    } catch (trap) {
      // The module aborted on a panic: say why, and start a fresh one next time.
      kernel = null;
      throw new Error(output(k, k.exports.sagat_panic()) || String(trap));
    }
    return JSON.parse(output(k, len));
  }

  function output(k, len) {
    var from = k.exports.sagat_output();
    return new TextDecoder().decode(new Uint8Array(k.exports.memory.buffer, from, len));
  }

  function hours(minutes) {
    var h = minutes % 60 === 0 ? String(minutes / 60) : (minutes / 60).toFixed(2);
    return h + " " + texts.hours_unit;
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
    if (a.revocation_checked_at !== null) {
      out.appendChild(el("p", { "class": "muted" }, texts.revocation_as_of + " " + when(a.revocation_checked_at)));
    }
    out.appendChild(el("p", { "class": "muted", id: "checked-here" }, texts.checked_here));
    out.hidden = false;
  }

  // The last certificate checked in this tab, so that switching the page's language shows its
  // result again (kept on this device only, in the tab's session storage).
  var LAST = "sagat-verify-last";

  function verifyHere(qr) {
    return load().then(function (k) {
      var answer = check(k, qr);
      if (answer.list_error) {
        throw new Error(answer.list_error);
      }
      show(answer);
      try { window.sessionStorage.setItem(LAST, qr); } catch (e) { /* storage off: fine */ }
    });
  }

  form.addEventListener("submit", function (event) {
    if (form.getAttribute("data-server") === "1") {
      return;
    }
    event.preventDefault();
    verifyHere(box.value).catch(function () {
      form.setAttribute("data-server", "1");
      form.submit();
    });
  });

  var last = null;
  try { last = window.sessionStorage.getItem(LAST); } catch (e) { /* storage off */ }
  if (window.location.hash.length <= 5 && last && /[?&]lang=/.test(window.location.search)) {
    box.value = last;
    verifyHere(last).catch(function () { /* the form is still there */ });
  }

  if (window.location.hash.length > 5) {
    var link = window.location.href;
    // A reload or a shared address bar then shows the plain page, not the certificate again.
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    box.value = link;
    verifyHere(link).catch(function () {
      form.setAttribute("data-server", "1");
      form.submit();
    });
  }
})();
