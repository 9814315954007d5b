// An unfinished job's page: its progress follows the job, and the page reloads once the job
// has finished, to show the transcript (or the error).
"use strict";
(function () {
  const pending = document.getElementById("pending");
  if (!pending) return;
  const bar = pending.querySelector("progress");

  async function poll() {
    try {
      const response = await fetch(pending.dataset.state, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const job = await response.json();
      bar.value = job.progress;
      bar.textContent = Math.round(job.progress * 100) + " %";
      if (job.status === "completed" || job.status === "failed") { window.location.reload(); return; }
    } catch (_) { /* offline a moment: try again */ }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 2000);
})();
