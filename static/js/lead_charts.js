/* The lead funnel's charts (templates/leads/funnel.html), without inline script (the
   Content-Security-Policy forbids it): <div data-lead-chart="KIND" data-chart-data="ID">
   reads its rows from the json_script block ID. */
(function () {
  "use strict";

  function base() {
    return { textStyle: { fontFamily: getComputedStyle(document.body).fontFamily }, tooltip: {} };
  }

  var kinds = {
    "funnel": function (rows) {
      var o = base();
      o.tooltip = { trigger: "item", formatter: "{b}: {c}" };
      o.series = [{ type: "funnel", left: "10%", width: "80%", top: 8, bottom: 8, minSize: "8%", sort: "none",
        label: { show: true, position: "inside", formatter: "{b}\n{c}" },
        data: rows.map(function (r) { return { name: r.label, value: r.count }; }) }];
      return o;
    },
    "channels": function (rows, el) {
      var labels = (el.getAttribute("data-labels") || "Leads|Conversions|Cost per conversion").split("|");
      var o = base();
      o.tooltip = { trigger: "axis" };
      o.legend = { top: 0 };
      o.grid = { left: 8, right: 8, top: 36, bottom: 8, containLabel: true };
      o.xAxis = { type: "category", data: rows.map(function (r) { return r.label; }), axisLabel: { interval: 0, rotate: rows.length > 4 ? 30 : 0 } };
      o.yAxis = [{ type: "value", minInterval: 1 }, { type: "value", splitLine: { show: false } }];
      o.series = [
        { type: "bar", barMaxWidth: 32, name: labels[0], data: rows.map(function (r) { return r.leads; }) },
        { type: "bar", barMaxWidth: 32, name: labels[1], data: rows.map(function (r) { return r.converted; }) },
        { type: "line", yAxisIndex: 1, name: labels[2], connectNulls: false, data: rows.map(function (r) { return r.cpc; }) }
      ];
      return o;
    }
  };

  function draw(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-lead-chart]").forEach(function (el) {
      var build = kinds[el.getAttribute("data-lead-chart")];
      var source = document.getElementById(el.getAttribute("data-chart-data"));
      if (!build || !source || el.hasAttribute("data-chart-drawn")) { return; }
      el.setAttribute("data-chart-drawn", "");
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(build(JSON.parse(source.textContent), el));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
})();
