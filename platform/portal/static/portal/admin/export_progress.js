// Exports page: follow queued and running export jobs through the API; reload once one finishes for its link.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.export-job"));
  var waiting = rows.filter(function (row) {
    var status = row.getAttribute("data-status");
    return status === "queued" || status === "running";
  });
  if (!waiting.length || !window.fetch) { return; }

  function poll() {
    Promise.all(waiting.map(function (row) {
      return fetch(row.getAttribute("data-status-url"), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) { return false; }
          var bar = row.querySelector("progress");
          bar.max = Math.max(job.total, 1);
          bar.value = job.status === "done" ? bar.max : job.done;
          var state = row.querySelector(".export-state");
          var text = state.textContent.replace(/\d+ \S+ \d+/, job.done + " / " + job.total);
          state.textContent = text;
          return job.status === "done" || job.status === "failed";
        })
        .catch(function () { return false; });
    })).then(function (finished) {
      if (finished.some(Boolean)) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
    });
  }
  window.setTimeout(poll, 2000);
})();
