// Upload page: several files, dropped or chosen, each sent on its own request so each has its
// own progress bar (XMLHttpRequest's upload progress: fetch has none).
"use strict";
(function () {
  const form = document.getElementById("upload");
  if (!form) return;
  const input = document.getElementById("files");
  const drop = document.getElementById("drop");
  const list = document.getElementById("uploads");
  const message = document.getElementById("upload-message");
  let dropped = [];

  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    dropped = Array.from(e.dataTransfer.files);
    submitAll(dropped);
  });

  // An option that applies only with another (speaker counts with diarize) is disabled without it.
  form.querySelectorAll("[data-needs]").forEach((dependent) => {
    const switcher = document.getElementById(dependent.dataset.needs);
    if (!switcher) return;
    const update = () => { dependent.disabled = !switcher.checked; };
    switcher.addEventListener("change", update);
    update();
  });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitAll(Array.from(input.files));
  });

  function options() {
    // Only what was filled in or ticked: an empty field means the option's default.
    const fields = [];
    form.querySelectorAll("fieldset input, fieldset select").forEach((el) => {
      if (el.disabled) return;
      if (el.type === "checkbox") { if (el.checked) fields.push([el.name, "true"]); }
      else if (el.value.trim() !== "") fields.push([el.name, el.value.trim()]);
    });
    return fields;
  }

  function submitAll(files) {
    message.textContent = "";
    if (!files.length) { message.textContent = form.dataset.none; return; }
    const fields = options();
    files.forEach((file) => send(file, fields));
  }

  function send(file, fields) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 1; bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    const state = document.createElement("span");
    item.append(name, bar, state);
    list.append(item);

    const body = new FormData();
    fields.forEach(([k, v]) => body.append(k, v));
    body.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/upload");
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; });
    xhr.addEventListener("load", () => {
      let answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (_) { /* not JSON: shown by status */ }
      if (xhr.status === 202 && answer) {
        bar.value = 1;
        state.textContent = form.dataset.done + " ";
        const link = document.createElement("a");
        link.href = "/jobs/" + encodeURIComponent(answer.id);
        link.textContent = form.dataset.open;
        state.append(link);
      } else {
        state.className = "error";
        state.textContent = form.dataset.failed + ": " + (answer && answer.error ? answer.error.message : xhr.status);
      }
    });
    xhr.addEventListener("error", () => { state.className = "error"; state.textContent = form.dataset.failed; });
    xhr.send(body);
  }
})();
