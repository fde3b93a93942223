// The hand-over (转人工) parts of the console: the header's count of open requests, the
// inbox that refreshes itself, and the conversation that shows new messages as they come.
// Polling keeps it simple and works behind every proxy; every word shown comes from the server.
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .catch(function () { return null; });
  }

  var badge = document.getElementById("handover-count");
  if (badge) {
    var refreshCount = function () {
      getJSON(badge.getAttribute("data-url")).then(function (body) {
        if (!body) { return; }
        badge.textContent = String(body.open);
        badge.setAttribute("data-count", String(body.open));
        badge.hidden = body.open === 0;
      });
    };
    refreshCount();
    setInterval(refreshCount, 10000);
  }

  var inboxBox = document.getElementById("inbox");
  if (inboxBox) {
    setInterval(function () { window.location.reload(); }, parseInt(inboxBox.getAttribute("data-refresh"), 10) || 15000);
  }

  var transcript = document.getElementById("transcript");
  if (transcript && transcript.getAttribute("data-poll")) {
    var holder = document.getElementById("holder");
    var poll = function () {
      var url = transcript.getAttribute("data-poll") + "?after=" + transcript.getAttribute("data-after");
      getJSON(url).then(function (body) {
        if (!body) { return; }
        body.messages.forEach(function (m) {
          if (transcript.querySelector('[data-id="' + m.id + '"]')) { return; }
          var div = document.createElement("div");
          div.className = "msg " + m.direction;
          div.setAttribute("data-id", String(m.id));
          if (m.staff) { div.setAttribute("data-staff", "1"); }
          var head = document.createElement("span");
          head.className = "muted";
          head.textContent = m.who + " · " + m.time;
          div.appendChild(head);
          div.appendChild(document.createElement("br"));
          div.appendChild(document.createTextNode(m.text));
          transcript.appendChild(div);
          transcript.setAttribute("data-after", String(m.id));
        });
        if (holder) { holder.setAttribute("data-state", body.state || ""); }
      });
    };
    setInterval(poll, parseInt(transcript.getAttribute("data-interval"), 10) || 3000);
  }
})();
