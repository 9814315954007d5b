// Job list: while any job is queued or running, ask for the list every few seconds and update
// each row's status and progress; deleting asks for confirmation first.
"use strict";
(function () {
  document.querySelectorAll("form.delete").forEach((form) => {
    form.addEventListener("submit", (e) => { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
  });
  const table = document.getElementById("jobs");
  if (!table) return;
  const finished = ["completed", "failed"];

  function unfinished() {
    return Array.from(table.querySelectorAll("td.status")).some((td) => !finished.some((s) => td.classList.contains("status-" + s)));
  }

  async function refresh() {
    const status = table.dataset.status;
    const response = await fetch("/jobs.json" + (status ? "?status=" + encodeURIComponent(status) : ""), {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) return false;
    const list = await response.json();
    list.jobs.forEach((job) => {
      const row = document.getElementById("job-" + job.id);
      if (!row) return;
      const cell = row.querySelector("td.status");
      cell.className = "status status-" + job.status;
      cell.textContent = table.dataset["label" + job.status.charAt(0).toUpperCase() + job.status.slice(1)] || job.status;
      const bar = row.querySelector("progress");
      bar.value = job.progress;
      bar.textContent = Math.round(job.progress * 100) + " %";
    });
    return true;
  }

  async function loop() {
    if (!unfinished()) return;
    try { if (!(await refresh())) return; } catch (_) { /* offline a moment: try again */ }
    window.setTimeout(loop, 2000);
  }
  window.setTimeout(loop, 2000);
})();
