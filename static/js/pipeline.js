/* The pipeline board: drag a card to another column (native HTML5 drag and drop) and the
   move is POSTed with htmx; the server answers with both columns out of band, or a message,
   or (lost without a reason) a form in the board's dialog. Every card also has a plain
   "Move to" form, which works from the keyboard and without this file. No inline script
   (the Content-Security-Policy forbids it). */
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
    event.dataTransfer.setData("text/plain", card.getAttribute("data-opportunity"));
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

  // After a move from the keyboard the columns are new: give the focus back to the moved
  // card's list, in its new column.
  var refocus = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    var select = form && form.matches && form.matches(".pipeline-move") ? form.querySelector("select") : null;
    refocus = select ? select.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    var select = refocus && document.getElementById(refocus);
    if (select && document.activeElement !== select) { select.focus(); }
    refocus = null;
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
