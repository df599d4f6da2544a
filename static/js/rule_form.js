/* The trigger rule's sentence form (templates/campaigns/rule_form.html): the amount condition
   is shown for transactions only, the event-detail condition for other events. Without
   script both show, and the server says which one applies. */
(function () {
  "use strict";
  function setUp() {
    var form = document.querySelector("[data-transaction-event]");
    if (!form) { return; }
    var event = form.querySelector("select[name=event_type]");
    var amount = form.querySelector("[data-rule-part=amount]");
    var detail = form.querySelector("[data-rule-part=detail]");
    if (!event || !amount || !detail) { return; }
    function sync() {
      var transaction = event.value === form.getAttribute("data-transaction-event");
      amount.hidden = !transaction && !amount.querySelector("input").value;
      detail.hidden = transaction && !detail.querySelector("input").value;
    }
    event.addEventListener("change", sync);
    sync();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
