// The staff console's only script: the live audience preview on the broadcast form and
// the self-refreshing progress block. Every word it shows comes from the page (data-*).
(function () {
  "use strict";

  function previewForm(form) {
    var box = document.getElementById("preview");
    var total = document.getElementById("preview-total");
    var lines = document.getElementById("preview-lines");
    var delay = parseInt(form.getAttribute("data-debounce"), 10) || 0;
    var timer = null;
    var seq = 0;

    function payload() {
      var data = {};
      new FormData(form).forEach(function (value, key) {
        if (key !== "_csrf") { data[key] = value; }
      });
      return data;
    }

    function syncControls() {
      var institutions = form.querySelector("input[name=target][value=institutions]");
      var only = form.querySelectorAll(".trainee-only select");
      for (var i = 0; i < only.length; i++) {
        only[i].disabled = institutions && institutions.checked;
      }
      var later = document.getElementById("when-later");
      var at = document.getElementById("send_at");
      if (at) { at.disabled = !(later && later.checked); at.required = !!(later && later.checked); }
    }

    var inline = document.getElementById("preview-inline");

    function show(count, texts, failed) {
      total.textContent = texts.length ? texts[0] : "";
      if (inline) { inline.textContent = failed ? "" : total.textContent; }
      total.setAttribute("data-count", failed ? "" : String(count));
      lines.textContent = "";
      for (var i = 1; i < texts.length; i++) {
        var p = document.createElement("p");
        p.textContent = texts[i];
        lines.appendChild(p);
      }
    }

    function refresh() {
      var mine = ++seq;
      total.textContent = box.getAttribute("data-loading");
      total.setAttribute("data-count", "");
      fetch(form.getAttribute("data-preview-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": form.getAttribute("data-csrf") },
        body: JSON.stringify(payload())
      }).then(function (resp) {
        return resp.json().then(function (body) { return { ok: resp.ok, body: body }; });
      }).then(function (r) {
        if (mine !== seq) { return; }
        if (r.ok) { show(r.body.recipients, r.body.summary, false); }
        else { show(0, [(r.body.error && r.body.error.message) || box.getAttribute("data-failed")], true); }
      }).catch(function () {
        if (mine === seq) { show(0, [box.getAttribute("data-failed")], true); }
      });
    }

    function schedule() {
      syncControls();
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(refresh, delay);
    }

    form.addEventListener("change", schedule);
    form.addEventListener("input", function (e) {
      if (e.target && e.target.name === "region") { schedule(); }
    });
    syncControls();
    refresh();
  }

  function followProgress(box) {
    var interval = parseInt(box.getAttribute("data-interval"), 10) || 2000;
    function tick() {
      var current = document.getElementById("progress");
      if (!current || current.getAttribute("data-final") === "1") { return; }
      fetch(box.getAttribute("data-url"), { credentials: "same-origin" })
        .then(function (resp) { return resp.ok ? resp.text() : null; })
        .then(function (html) {
          if (html !== null) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById("progress");
            if (fresh) { box.replaceChild(document.importNode(fresh, true), document.getElementById("progress")); }
          }
          setTimeout(tick, interval);
        })
        .catch(function () { setTimeout(tick, interval * 2); });
    }
    setTimeout(tick, interval);
  }

  var form = document.getElementById("broadcast-form");
  if (form) { previewForm(form); }
  var box = document.getElementById("progress-box");
  if (box) { followProgress(box); }
  // The claims board: one box ticks every claim on the page.
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      var boxes = document.querySelectorAll("#claims input[name=ids]");
      for (var i = 0; i < boxes.length; i++) { boxes[i].checked = all.checked; }
    });
  }
})();
