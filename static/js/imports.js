/* The import's mapping step: the currency field shows only while no currency column is
   mapped (a file with its own currency column names the currency on every row). */
(function () {
  "use strict";
  var form = document.getElementById("import-mapping-form");
  if (!form) { return; }
  function sync() {
    var select = form.querySelector("select[data-import-column='currency']");
    var box = form.querySelector("[data-import-currency]");
    if (select && box) { box.hidden = select.value !== ""; }
  }
  form.addEventListener("change", sync);
  sync();
})();
