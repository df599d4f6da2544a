/* Saved views, exports and bulk actions of the list screens (components/saved_views.html,
   crm/customers/list.html, _rows.html). A file, not inline script (the CSP). Included by the
   components that need it; runs its setup once per page. */
(function () {
  "use strict";
  if (window.crmWorkspace) { return; }
  window.crmWorkspace = true;

  /* <input data-current-query> inside a form: set to the page's query string when the form is
     submitted (htmx filtering changes the URL without reloading the page). Capture phase: before
     htmx and the confirmation dialog read the form. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    form.querySelectorAll("[data-current-query]").forEach(function (input) {
      input.value = window.location.search.replace(/^\?/, "");
    });
  }, true);

  /* Bulk selection: checkboxes <input data-bulk-item form="ID">, a header checkbox
     <input data-bulk-all="ID">, and the form #ID[data-bulk-form] whose confirmation question is
     built from its data-confirm-(add|remove)-(one|other) templates ({count}, {tag}). */
  function bulkForm(id) { return document.getElementById(id); }
  function items(id) { return document.querySelectorAll("input[data-bulk-item][form='" + id + "']"); }

  function refresh(form) {
    if (!form) { return; }
    var id = form.id;
    var checked = 0;
    var all = items(id);
    all.forEach(function (box) { if (box.checked) { checked += 1; } });
    var header = document.querySelector("input[data-bulk-all='" + id + "']");
    if (header) {
      header.checked = all.length > 0 && checked === all.length;
      header.indeterminate = checked > 0 && checked < all.length;
    }
    var tagSelect = form.querySelector("[name=bulk_tag]");
    var actionSelect = form.querySelector("[name=action]");
    var tagLabel = tagSelect && tagSelect.selectedIndex > 0 ? tagSelect.options[tagSelect.selectedIndex].text : "";
    var action = actionSelect ? actionSelect.value : "add";
    var key = "data-confirm-" + (action === "remove" ? "remove" : "add") + "-" + (checked === 1 ? "one" : "other");
    var question = (form.getAttribute(key) || "").replace("{count}", String(checked)).replace("{tag}", tagLabel);
    form.setAttribute("data-confirm", question);
    var counter = form.querySelector("[data-bulk-count]");
    if (counter) { counter.textContent = String(checked); }
    var submit = form.querySelector("[type=submit]");
    if (submit) { submit.disabled = checked === 0 || !tagLabel; }
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!(el instanceof HTMLElement)) { return; }
    if (el.hasAttribute("data-bulk-all")) {
      var id = el.getAttribute("data-bulk-all");
      items(id).forEach(function (box) { box.checked = el.checked; });
      refresh(bulkForm(id));
    } else if (el.hasAttribute("data-bulk-item")) {
      refresh(bulkForm(el.getAttribute("form")));
    } else if (el.closest && el.closest("form[data-bulk-form]")) {
      refresh(el.closest("form[data-bulk-form]"));
    }
  });

  function refreshAll() { document.querySelectorAll("form[data-bulk-form]").forEach(refresh); }
  document.addEventListener("DOMContentLoaded", refreshAll);
  document.body.addEventListener("htmx:afterSettle", refreshAll);
  refreshAll();
})();
