/* consentry console: the linter's findings follow a form (a program's or a brand's, the one
 * with data-lint-url) as one types.
 * Vendored with the package, loaded from the console's own origin (CSP script-src 'self').
 * Without it the page still works: the findings are shown when the form is sent. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-lint-url]");
  if (!form || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var url = form.getAttribute("data-lint-url");
  var timer = null;
  var latest = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function badgeClass(severity) {
    if (severity === "block") { return "badge revoked"; }
    if (severity === "warn") { return "badge pending"; }
    return "badge";
  }

  function draw(box, findings) {
    box.textContent = "";
    if (!findings.length) {
      box.appendChild(el("p", "muted", "No findings."));
      return;
    }
    var list = el("ul", "findings");
    findings.forEach(function (f) {
      var item = el("li");
      item.setAttribute("data-check", f.id);
      item.appendChild(el("span", badgeClass(f.severity), f.severity));
      item.appendChild(document.createTextNode(" "));
      item.appendChild(el("strong", "", f.id));
      item.appendChild(document.createTextNode(": " + f.message));
      if (f.at) {
        item.appendChild(document.createTextNode(" "));
        item.appendChild(el("span", "muted", "At: \u201c" + f.at + "\u201d"));
      }
      if (f.fix) { item.appendChild(el("div", "", "Fix: " + f.fix)); }
      item.appendChild(el("div", "muted", "Source: " + f.citation));
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function check() {
    var mine = ++latest;
    form.setAttribute("aria-busy", "true");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form))
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (!data || mine !== latest) { return; }
      Object.keys(data.findings).forEach(function (name) {
        var box = document.getElementById("lint-" + name);
        if (box) { draw(box, data.findings[name]); }
      });
      form.setAttribute("data-linted", String(mine));
    }).catch(function () {
      /* offline or signed out: the findings are shown again when the form is sent */
    }).then(function () {
      if (mine === latest) { form.removeAttribute("aria-busy"); }
    });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 300);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
}());
