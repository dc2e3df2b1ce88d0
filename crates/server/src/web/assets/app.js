// restless web page: enhancements only; every page works without this file.
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelectorAll(sel); };

  // Unit choices follow the chosen blood test.
  $("select[data-lab]").forEach(function (sel) {
    var update = function () {
      var unit = document.getElementById(sel.getAttribute("data-lab"));
      if (!unit) return;
      var list = document.getElementById("units-" + sel.value);
      unit.setAttribute("list", list ? list.id : "units-all");
      if (list && list.options.length === 1 && !unit.value) unit.value = list.options[0].value;
    };
    sel.addEventListener("change", update);
  });

  // Live validation of numbers and dates, with the same words as the server.
  var show = function (input, message) {
    var err = document.getElementById(input.id + "-error");
    if (!err) return;
    err.textContent = message;
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  };
  $("input.num").forEach(function (input) {
    var check = function () {
      var v = input.value.trim().replace(",", ".");
      if (v === "") return show(input, "");
      var n = Number(v);
      var min = input.getAttribute("data-min"), max = input.getAttribute("data-max");
      if (!isFinite(n)) return show(input, "Please enter a number, for example " + input.getAttribute("data-example") + ".");
      if ((min !== null && n < Number(min)) || (max !== null && n > Number(max))) {
        return show(input, max === null ? "Please enter a number of " + min + " or more." :
          "Please enter a number from " + min + " to " + max + ".");
      }
      show(input, "");
    };
    input.addEventListener("change", check);
    input.addEventListener("blur", check);
  });
  $("input[type=date]").forEach(function (input) {
    input.addEventListener("change", function () {
      var v = input.value;
      if (v && v > new Date().toISOString().slice(0, 10)) show(input, "This date is in the future.");
      else show(input, "");
    });
  });

  // Move focus to the messages after a failed submission.
  var summary = document.getElementById("error-summary") || document.getElementById("upload-error");
  if (summary) summary.focus();

  // Print.
  $("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
  window.addEventListener("beforeprint", function () {
    // Sources and open questions go on paper; the long "cannot be judged" and "ruled out"
    // groups stay folded so that the printout stays short.
    $("details:not(.group)").forEach(function (d) { d.open = true; });
  });

  // "Was this useful?" without leaving the report.
  $("form.useful-form").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.fetch || !window.URLSearchParams) return;
      ev.preventDefault();
      var data = new URLSearchParams();
      $("input[type=hidden]", form).forEach(function (i) { data.append(i.name, i.value); });
      var button = ev.submitter || form.querySelector("button");
      data.append("useful", button.value);
      var out = form.querySelector(".thanks");
      fetch(form.action, { method: "POST", body: data }).then(function (r) {
        out.textContent = r.ok ? "Thank you for your answer." : "Sorry, your answer could not be saved.";
        if (r.ok) $("button", form).forEach(function (b) { b.disabled = true; });
      }, function () { out.textContent = "Sorry, your answer could not be saved."; });
    });
  });
})();
