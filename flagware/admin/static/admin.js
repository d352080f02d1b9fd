// flagware admin: small progressive enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Filter the flag table as you type (the form still searches on the server on Enter).
  for (const input of document.querySelectorAll("input[data-filter]")) {
    const rows = document.querySelectorAll(input.dataset.filter + " tbody tr[data-name]");
    input.addEventListener("input", () => {
      const wanted = input.value.trim().toLowerCase();
      for (const row of rows) {
        const meta = row.querySelector("[data-meta]");
        const text = (row.dataset.name + " " + (meta ? meta.dataset.meta : "")).toLowerCase();
        row.hidden = !text.includes(wanted);
      }
    });
  }
  // Ask before destructive actions.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
});
