/* The kanban boards (the accounts' pipeline by stage, the rep's leads by status): drag a
   card to another column (native HTML5 drag and drop) and the move is POSTed with htmx; the
   server answers with both columns out of band, or a message, or (lost without a reason) a
   form in the board's dialog. Every card also has a "Move…" link, reachable from the
   keyboard: here it opens the board's one shared "move to" menu filled with that card's
   move URL and column; without this file it opens a page with the same form.

   What a board provides: cards with an element id, ``data-card-id``, ``data-stage`` (its
   column's value), ``data-move-url`` (draggable) and a ``[data-move-open]`` link with an
   element id; columns with ``data-stage-drop``; the board in ``[data-pipeline]``; the
   ``#pipeline-move`` menu, the ``#pipeline-dialog`` and ``#pipeline-status``. The move is
   POSTed as ``stage=<the column's value>``. No inline script (the Content-Security-Policy
   forbids it). */
(function () {
  "use strict";

  var dragged = null;

  function csrfHeaders() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (e) {
      return {};
    }
  }

  function column(target) {
    return target && target.closest ? target.closest("[data-stage-drop]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-move-url]");
    if (!card) { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-card-id"));
    card.classList.add("pipeline-dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("pipeline-dragging"); }
    dragged = null;
    document.querySelectorAll(".pipeline-drop-target").forEach(function (el) {
      el.classList.remove("pipeline-drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var col = column(event.target);
    if (!dragged || !col) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    col.classList.add("pipeline-drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var col = column(event.target);
    if (col && !col.contains(event.relatedTarget)) { col.classList.remove("pipeline-drop-target"); }
  });

  document.addEventListener("drop", function (event) {
    var col = column(event.target);
    if (!dragged || !col) { return; }
    event.preventDefault();
    col.classList.remove("pipeline-drop-target");
    var card = dragged;
    var stage = col.getAttribute("data-stage-drop");
    if (stage === card.getAttribute("data-stage") || !window.htmx) { return; }
    card.classList.add("pipeline-moving");
    window.htmx.ajax("POST", card.getAttribute("data-move-url"), {
      source: card,
      swap: "none",
      values: { stage: stage },
      headers: csrfHeaders()
    }).finally(function () { card.classList.remove("pipeline-moving"); });
  });

  // A refused move (422) still brings its message and, for a lost reason, the dialog's form.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.elt;
    if (event.detail.xhr.status === 422 && elt && elt.closest && elt.closest("[data-pipeline], #pipeline-dialog")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function syncDialog() {
    var dialog = document.getElementById("pipeline-dialog");
    var body = document.getElementById("pipeline-dialog-body");
    if (!dialog || !body) { return; }
    if (body.querySelector("form")) {
      if (!dialog.open) { dialog.showModal(); }
      var field = body.querySelector("textarea, input:not([type=hidden])");
      if (field) { field.focus(); }
    } else if (dialog.open) {
      dialog.close();
    }
  }

  // The shared "move to" menu.
  var menu = document.getElementById("pipeline-move");
  var refocus = null;

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-move-open]");
    if (!link || !menu || !window.htmx) { return; }
    var card = link.closest("[data-move-url]");
    if (!card) { return; }
    event.preventDefault();
    var form = menu.querySelector("form");
    form.setAttribute("action", card.getAttribute("data-move-url"));
    form.setAttribute("data-card", card.id);
    form.setAttribute("data-card-link", link.id);
    menu.querySelector("select").value = card.getAttribute("data-stage");
    var name = card.querySelector("[data-testid=card-name]");
    menu.querySelector("[data-move-name]").textContent = name ? name.textContent : "";
    menu.showModal();
    menu.querySelector("select").focus();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-pipeline-move]") || !window.htmx) { return; }
    event.preventDefault();
    var card = document.getElementById(form.getAttribute("data-card"));
    var linkId = form.getAttribute("data-card-link");
    var stage = form.querySelector("select").value;
    menu.close();
    if (!card || stage === card.getAttribute("data-stage")) {
      var link = document.getElementById(linkId);
      if (link) { link.focus(); }
      return;
    }
    // After the move the columns are new: give the focus back to the card's link.
    refocus = linkId;
    card.classList.add("pipeline-moving");
    window.htmx.ajax("POST", form.getAttribute("action"), {
      source: card,
      swap: "none",
      values: { stage: stage },
      headers: csrfHeaders()
    }).finally(function () { card.classList.remove("pipeline-moving"); });
  });

  document.addEventListener("htmx:afterSettle", function () {
    var link = refocus && document.getElementById(refocus);
    if (link && document.activeElement !== link && !document.querySelector("dialog[open]")) {
      link.focus();
      refocus = null;
    }
  });

  document.addEventListener("htmx:afterSettle", syncDialog);
  document.addEventListener("htmx:oobAfterSwap", syncDialog);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dialog-close]");
    if (!button) { return; }
    var dialog = button.closest("dialog");
    if (dialog) { dialog.close(); }
  });
  document.addEventListener("close", function (event) {
    if (event.target.id === "pipeline-dialog") {
      document.getElementById("pipeline-dialog-body").innerHTML = "";
    }
  }, true);
})();
