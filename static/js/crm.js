/* The web shell's behaviour, loaded by templates/base.html on every page. A file, not inline
   script: the Content-Security-Policy runs scripts from this origin only, and forbids onclick=
   style handlers. Pages pass data in data- attributes and json_script blocks. */

/* The navbar's search dropdown, and signed-out htmx answers. */
(function () {
  "use strict";
  var loginUrl = document.body.getAttribute("data-login-url");
  function searchBox() { return document.getElementById("search-dropdown"); }
  function closeSearch() { var box = searchBox(); if (box) { box.innerHTML = ""; } }
  // Close the search dropdown on a click elsewhere or on Escape.
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".navbar-search")) { closeSearch(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && searchBox() && searchBox().childElementCount) {
      closeSearch();
    }
  });
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    // An emptied search box closes the dropdown instead of asking the server.
    if (elt && elt.getAttribute("hx-target") === "#search-dropdown" && !elt.value.trim()) {
      event.preventDefault();
      closeSearch();
    }
  });
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    // A signed-out session answers htmx with the sign-in page: load it as a whole page.
    var xhr = event.detail.xhr;
    if (loginUrl && xhr && xhr.responseURL && new URL(xhr.responseURL, window.location.href).pathname === loginUrl) {
      event.detail.shouldSwap = false;
      window.location.assign(loginUrl + "?next=" + encodeURIComponent(window.location.pathname + window.location.search));
    }
  });
})();

/* <select data-autosubmit>: choosing an option submits its form (a filter without a button). */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
      if (typeof el.form.requestSubmit === "function") { el.form.requestSubmit(); } else { el.form.submit(); }
    }
  });
})();

/* [data-remove-when="#id"]: removed once the element #id (a polled progress component) reports
   data-finished="true", e.g. the cancel button of a job that has finished meanwhile. */
(function () {
  "use strict";
  document.body.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-remove-when]").forEach(function (el) {
      var watched = document.querySelector(el.getAttribute("data-remove-when"));
      if (watched && watched.getAttribute("data-finished") === "true") { el.remove(); }
    });
  });
})();

/* The confirmation dialog (templates/components/confirm_modal.html). Any
   <form data-confirm="Question?" data-confirm-button="Label"> is stopped on submit; the dialog
   asks the question and its confirm button submits the form for real. */
(function () {
  "use strict";
  if (window.crmConfirm) { return; }
  var modalEl = document.getElementById("confirm-modal");
  var questionEl = document.getElementById("confirm-modal-question");
  var yesBtn = document.getElementById("confirm-modal-yes");
  var pending = null;     // {form, submitter} waiting for an answer
  var passing = null;     // the form being submitted for real after "yes"
  var backdrop = null;    // our own backdrop when Bootstrap's Modal is not available
  var lastFocus = null;
  if (!modalEl) { return; }

  function Modal() {
    var lib = window.bootstrap || (window.tabler && (window.tabler.bootstrap || window.tabler));
    return lib && lib.Modal ? lib.Modal : null;
  }

  function show() {
    lastFocus = document.activeElement;
    var M = Modal();
    if (M) { M.getOrCreateInstance(modalEl).show(); return; }
    backdrop = document.createElement("div");
    backdrop.className = "modal-backdrop fade show";
    document.body.appendChild(backdrop);
    document.body.classList.add("modal-open");
    modalEl.classList.add("show", "d-block");
    modalEl.removeAttribute("aria-hidden");
    yesBtn.focus();
  }

  function hide() {
    var M = Modal();
    if (M) { var inst = M.getInstance(modalEl); if (inst) { inst.hide(); } return; }
    modalEl.classList.remove("show", "d-block");
    modalEl.setAttribute("aria-hidden", "true");
    document.body.classList.remove("modal-open");
    if (backdrop) { backdrop.remove(); backdrop = null; }
    if (lastFocus && lastFocus.focus) { lastFocus.focus(); }
  }

  function isOpen() { return modalEl.classList.contains("show"); }

  // Capture phase: runs before htmx's or any other submit handler on the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) { return; }
    if (passing === form) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    pending = { form: form, submitter: event.submitter || null };
    questionEl.textContent = form.getAttribute("data-confirm");
    yesBtn.textContent = form.getAttribute("data-confirm-button") || yesBtn.getAttribute("data-default-label");
    show();
  }, true);

  yesBtn.addEventListener("click", function () {
    var p = pending;
    pending = null;
    hide();
    if (!p) { return; }
    passing = p.form;
    try {
      if (typeof p.form.requestSubmit === "function") {
        if (p.submitter && p.submitter.form === p.form) { p.form.requestSubmit(p.submitter); }
        else { p.form.requestSubmit(); }
      } else {
        p.form.submit();
      }
    } finally {
      passing = null;
    }
  });

  // Fallback handling only matters when Bootstrap's Modal is absent.
  modalEl.addEventListener("click", function (event) {
    if (Modal()) { return; }
    if (event.target === modalEl || event.target.closest("[data-confirm-cancel]")) { pending = null; hide(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen() && !Modal()) { pending = null; hide(); }
  });
  modalEl.addEventListener("hidden.bs.modal", function () { pending = null; });

  window.crmConfirm = { show: show, hide: hide };
})();
