/* consentry console: while an opt-out list is read or imported, say so and show a busy
 * progress bar (the import is one transaction: all rows or none, so there is no partial count).
 * Vendored with the package; without it the page works the same, only without the indicator. */
(function () {
  "use strict";
  var progress = document.getElementById("import-progress");
  var text = document.getElementById("import-progress-text");
  if (!progress || !text) {
    return;
  }
  ["import-form", "confirm-form"].forEach(function (id) {
    var form = document.getElementById(id);
    if (!form) {
      return;
    }
    form.addEventListener("submit", function () {
      progress.removeAttribute("value"); /* indeterminate: working */
      progress.setAttribute("aria-busy", "true");
      text.textContent = form.getAttribute("data-busy-text") || "Working…";
      text.setAttribute("role", "status");
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (button) {
        window.setTimeout(function () { button.disabled = true; }, 0); /* no second submit */
      });
    });
  });
}());
