/* consentry console: the opt-out import's progress.
 * - While a list is read or an import is started, say so and show a busy progress bar.
 * - On an import's progress page, ask the server for the job's state every half second and
 *   show the numbers written so far; "committed" comes only once the transaction committed,
 *   then the counts; "failed" comes with the reason (nothing imported).
 * Vendored with the package; without it the page works the same: reload it to see the state. */
(function () {
  "use strict";
  var POLL_MS = 500;
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

  var rows = document.getElementById("import-rows");
  var rowsText = document.getElementById("import-rows-text");
  var url = rows && rows.getAttribute("data-status-url");
  if (!rows || !rowsText || !url || rows.getAttribute("data-state") !== "running") {
    return;
  }

  function count(n) {
    return Number(n).toLocaleString("en-US");
  }

  function span(name, value) {
    var element = document.createElement("span");
    element.setAttribute("data-result", name);
    element.textContent = count(value);
    return element;
  }

  /* The result line, placed where the server puts it (after the rows' progress line). */
  function showResult(className, role, parts) {
    var old = document.getElementById("import-result");
    var line = document.createElement("p");
    line.id = "import-result";
    line.className = className;
    line.setAttribute("role", role);
    parts.forEach(function (part) {
      line.appendChild(typeof part === "string" ? document.createTextNode(part) : part);
    });
    var refresh = document.getElementById("import-refresh");
    if (refresh) {
      refresh.parentNode.removeChild(refresh);
    }
    if (old) {
      old.parentNode.replaceChild(line, old);
    } else {
      rowsText.parentNode.parentNode.insertBefore(line, rowsText.parentNode.nextSibling);
    }
  }

  function finish(step, value, stepText) {
    progress.setAttribute("value", String(value));
    progress.setAttribute("data-step", step);
    progress.removeAttribute("aria-busy");
    text.textContent = stepText;
    rows.setAttribute("data-state", step);
  }

  function show(job) {
    rows.setAttribute("max", String(Math.max(job.total, 1)));
    rows.setAttribute("value", String(job.done));
    if (job.state === "committed") {
      var result = job.result;
      rowsText.textContent = count(job.total) + " of " + count(job.total) + ": committed";
      finish("done", 3, "imported");
      showResult("notice", "status", [
        "Imported: ", span("added", result.added),
        " new opt-outs (" + result.scope + "), ", span("already_opted_out", result.already_opted_out),
        " already opted out, ", span("duplicates", result.duplicates), " duplicates."
      ]);
      return false;
    }
    if (job.state === "failed") {
      rowsText.textContent = "rolled back: nothing imported";
      finish("failed", 2, "nothing imported");
      showResult("warn", "alert", ["Nothing imported: " + job.error]);
      return false;
    }
    rowsText.textContent = job.total && job.done >= job.total
      ? "all " + count(job.total) + " written, committing…"
      : count(job.done) + " of " + count(job.total) + " written, not committed yet";
    return true;
  }

  function lost(message) {
    rowsText.textContent = message;
  }

  var missing = 0; /* 404s in a row: with several server workers, another one may answer */

  function poll() {
    window.fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (response.status === 404) {
          missing += 1;
          if (missing < 6) {
            window.setTimeout(poll, POLL_MS * 2);
            return;
          }
          lost("This server no longer knows the import (it restarted, or the import ended " +
               "more than 15 minutes ago): the opt-outs page shows what was imported.");
          return;
        }
        missing = 0;
        if (!response.ok || !/json/.test(response.headers.get("Content-Type") || "")) {
          lost("No status from the server (HTTP " + response.status + "); retrying…");
          window.setTimeout(poll, POLL_MS * 4);
          return;
        }
        return response.json().then(function (job) {
          if (show(job)) {
            window.setTimeout(poll, POLL_MS);
          }
        });
      })
      .catch(function () {
        lost("The server does not answer; retrying…");
        window.setTimeout(poll, POLL_MS * 4);
      });
  }

  poll();
}());
