/* ECharts on the pages, without inline script (the Content-Security-Policy forbids it).
   A chart is an element <div data-chart="KIND" data-chart-data="ID" ...> where ID names a
   json_script block with the rows; load echarts.min.js, then this file. */
(function () {
  "use strict";

  function css(name, fallback) {
    return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
  }

  var kinds = {
    // The 360 view: net spend per business unit. Rows from the customer's transactions.
    "unit-spend": function (rows) {
      return {
        grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: { type: "value" },
        yAxis: { type: "category", data: rows.map(function (r) { return r.business_unit__code + " (" + r.currency + ")"; }) },
        series: [{ type: "bar", data: rows.map(function (r) { return Number(r.spend); }), itemStyle: { color: "#206bc4" } }]
      };
    },
    // The dashboard's team card: active users per role, largest first from the top.
    "per-role": function (rows, el) {
      rows = rows.slice().reverse();
      var primary = css("--tblr-primary", "#206bc4");
      var muted = css("--tblr-secondary", "#6b7280");
      return {
        textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
        grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: { type: "value", minInterval: 1, axisLabel: { color: muted }, splitLine: { lineStyle: { type: "dashed" } } },
        yAxis: { type: "category", data: rows.map(function (r) { return r.role; }), axisTick: { show: false }, axisLabel: { color: muted } },
        series: [{
          name: el.getAttribute("data-series-name") || "",
          type: "bar",
          barMaxWidth: 18,
          data: rows.map(function (r) { return r.count; }),
          itemStyle: { color: primary, borderRadius: [0, 4, 4, 0] },
          label: { show: true, position: "right", color: muted }
        }]
      };
    }
  };

  function draw(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var build = kinds[el.getAttribute("data-chart")];
      var source = document.getElementById(el.getAttribute("data-chart-data"));
      if (!build || !source || el.hasAttribute("data-chart-drawn")) { return; }
      el.setAttribute("data-chart-drawn", "");
      var chart = window.echarts.init(el, null, { renderer: el.getAttribute("data-chart-renderer") || "canvas" });
      chart.setOption(build(JSON.parse(source.textContent), el));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
