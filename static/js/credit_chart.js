/* The credit section's score chart: <div data-credit-chart data-chart-data="ID"> where ID names
   a json_script block of {at, score, rating} rows. No inline script (CSP); drawn on load and
   after every htmx swap of the section. Load echarts.min.js first. */
(function () {
  "use strict";
  if (window.crmCreditChart) { return; }
  window.crmCreditChart = true;

  function css(name, fallback) {
    return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
  }

  function option(rows, el) {
    var primary = css("--tblr-primary", "#206bc4");
    var muted = css("--tblr-secondary", "#6b7280");
    return {
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      grid: { left: 8, right: 24, top: 16, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var r = rows[items[0].dataIndex];
          return r.at + "<br>" + (el.getAttribute("data-series-name") || "") + ": " + r.score + " (" + r.rating + ")";
        }
      },
      xAxis: { type: "category", data: rows.map(function (r) { return r.at; }), axisLabel: { color: muted } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { color: muted }, splitLine: { lineStyle: { type: "dashed" } } },
      series: [{
        name: el.getAttribute("data-series-name") || "",
        type: "line",
        step: "end",
        data: rows.map(function (r) { return r.score; }),
        itemStyle: { color: primary },
        label: { show: rows.length <= 12, position: "top", color: muted, formatter: function (p) { return rows[p.dataIndex].rating; } }
      }]
    };
  }

  function draw(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-credit-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart-data"));
      if (!source || el.hasAttribute("data-chart-drawn")) { return; }
      el.setAttribute("data-chart-drawn", "");
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option(JSON.parse(source.textContent), el));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
})();
