/* The page showing a newly issued API key once (templates/admin/crm/apikey/issued.html):
   select on focus, and a copy button. Its messages come from the button's data- attributes. */
(function () {
  "use strict";
  var input = document.getElementById("raw-key");
  var button = document.getElementById("copy-raw-key");
  var status = document.getElementById("copy-status");
  if (!input || !button || !status) { return; }
  input.addEventListener("focus", function () { input.select(); });
  button.addEventListener("click", function () {
    function fallback() {
      input.focus();
      input.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      status.textContent = button.getAttribute(ok ? "data-copied" : "data-manual");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () {
        status.textContent = button.getAttribute("data-copied");
      }, fallback);
    } else {
      fallback();
    }
  });
})();
