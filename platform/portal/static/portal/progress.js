// Progress page: polls the request's progress every 2 s and updates the bar, the text, the ETA and the next step.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || !window.fetch) { return; }
  var t = box.dataset;
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var eta = document.getElementById("progress-eta");
  var reason = document.getElementById("progress-reason");
  var next = document.getElementById("progress-next");
  var FINISHED = {done: true, failed: true, cancelled: true};
  var lastText = "";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }

  function render(p) {
    bar.max = Math.max(p.progress_total, 1);
    bar.value = p.progress_done;
    bar.textContent = p.progress_done + " / " + p.progress_total;
    // Done counts what the gallery shows (passed quality checks); the summary says why any others are not there.
    var values = {done: p.progress_done, total: p.progress_total, summary: p.summary};
    var message;
    if (p.state === "done") { message = fill(t.textDone, values); }
    else if (p.state === "failed" || p.state === "cancelled") { message = t.textFailed; }
    else if (p.state === "running") { message = fill(t.textRunning, values); }
    else if (p.state === "retrying") { message = t.textRetrying; }
    else if (p.state === "held") { message = t.textHeld; }
    else { message = t.textQueued; }
    // Only changed words go into the live region, so screen readers aren't read the same line every 2 s.
    if (message !== lastText) {
      text.textContent = message;
      text.className = FINISHED[p.state] && p.state !== "done" ? "lead status-failed" : "lead";
      lastText = message;
    }
    if (FINISHED[p.state] || p.eta_seconds === null) { eta.textContent = ""; }
    else if (p.eta_seconds < 60) { eta.textContent = t.textEtaSoon; }
    else { eta.textContent = fill(t.textEta, {minutes: Math.ceil(p.eta_seconds / 60)}); }
    reason.textContent = (p.state === "failed" || p.state === "retrying" || p.state === "held" ||
                          p.state === "cancelled") ? p.reason : "";
    reason.className = p.state === "failed" ? "status-failed" : "";
    if (FINISHED[p.state]) {
      var template = document.getElementById(p.state === "done" ? "next-done" : "next-failed");
      next.textContent = "";
      next.appendChild(template.content.cloneNode(true));
    }
    return FINISHED[p.state];
  }

  function poll() {
    fetch(t.api, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (p) {
        if (!p || !render(p)) { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }

  if (!FINISHED[t.status]) { poll(); }
}());
