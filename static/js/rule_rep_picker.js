/* The routing rule's rep picker in the admin (leads.admin.routing.PoolRepSelect): select2
   asking the server for the active reps of the pool chosen in the same form (its
   ``data-pool-field``); choosing another pool clears the rep, who is rarely a rep of both.
   The server refuses a rep who does not fit whatever is submitted. Set up once the page is
   parsed: the admin's media may place this file before jQuery and select2. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const $ = django.jQuery;

  function setUp(select) {
    const pool = document.getElementById(select.dataset.poolField);
    $(select).select2({
      width: "20em", // as wide as the pool's box: a name and a username fit
      ajax: {
        data: (params) => ({
          term: params.term,
          page: params.page,
          pool: pool ? $(pool).val() || "" : "",
        }),
      },
    });
    if (pool) {
      // Only another pool clears the rep: the admin also fires "change" on every related
      // field as the page loads (to update its edit links).
      let chosen = $(pool).val();
      $(pool).on("change", () => {
        if ($(pool).val() !== chosen) {
          chosen = $(pool).val();
          $(select).val(null).trigger("change");
        }
      });
    }
  }

  $("select.leads-rep-autocomplete").not("[name*=__prefix__]").each((i, select) => {
    setUp(select);
  });
});
