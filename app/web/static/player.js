// Transcript page: the word being spoken is highlighted; clicking a word, a segment's time or a
// summary citation plays from there (a citation stops at its end); k, j and l play/pause and
// skip five seconds when no form control has the focus.
"use strict";
(function () {
  const audio = document.getElementById("player");
  if (!audio) return;
  const words = Array.from(document.querySelectorAll("#text .w"));
  const starts = words.map((w) => parseFloat(w.dataset.s));
  let current = null;
  let stopAt = null;

  function wordAt(t) {
    // The last word starting at or before t (binary search over start times, which rise).
    let lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (found < 0) return null;
    const w = words[found];
    return t <= parseFloat(w.dataset.e) + 0.3 ? w : null;
  }

  audio.addEventListener("timeupdate", () => {
    const w = wordAt(audio.currentTime);
    if (w !== current) {
      if (current) current.classList.remove("current");
      if (w) w.classList.add("current");
      current = w;
    }
    if (stopAt !== null && audio.currentTime >= stopAt) { audio.pause(); stopAt = null; }
  });

  function playFrom(seconds, until) {
    audio.currentTime = seconds;
    stopAt = until === undefined ? null : until;
    const started = audio.play();
    if (started && started.catch) started.catch(() => {});
  }

  document.addEventListener("click", (e) => {
    const target = e.target.closest(".w, .seek, .cite");
    if (!target) return;
    e.preventDefault();
    const until = target.classList.contains("cite") ? parseFloat(target.dataset.e) : undefined;
    playFrom(parseFloat(target.dataset.s), until);
  });

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.closest("input, select, textarea")) return;
    if (e.key === "k") { e.preventDefault(); if (audio.paused) audio.play(); else audio.pause(); }
    else if (e.key === "j") { e.preventDefault(); audio.currentTime = Math.max(0, audio.currentTime - 5); }
    else if (e.key === "l") { e.preventDefault(); audio.currentTime = audio.currentTime + 5; }
  });
})();
