/* The forecast chart: pipeline amount (bars) and weighted forecast (line) per group, from the
   json_script block named in data-forecast-chart; the table below shows the same figures. */
(function () {
  "use strict";

  function draw() {
    var el = document.querySelector("[data-forecast-chart]");
    if (!el || !window.echarts) { return; }
    var source = document.getElementById(el.getAttribute("data-forecast-chart"));
    if (!source) { return; }
    var rows = JSON.parse(source.textContent);
    var style = getComputedStyle(document.body);
    var primary = style.getPropertyValue("--tblr-primary").trim() || "#206bc4";
    var muted = style.getPropertyValue("--tblr-secondary").trim() || "#6b7280";
    var currency = el.getAttribute("data-currency") || "";
    var format = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 2 });
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      textStyle: { fontFamily: style.fontFamily },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) { return currency + " " + format.format(v); }
      },
      xAxis: { type: "category", data: rows.map(function (r) { return r.label; }), axisLabel: { color: muted } },
      yAxis: { type: "value", axisLabel: { color: muted }, splitLine: { lineStyle: { type: "dashed" } } },
      series: [
        {
          name: el.getAttribute("data-amount-name"),
          type: "bar",
          barMaxWidth: 32,
          itemStyle: { color: "#cfe0f5", borderRadius: [4, 4, 0, 0] },
          data: rows.map(function (r) { return Number(r.amount); })
        },
        {
          name: el.getAttribute("data-weighted-name"),
          type: "line",
          smooth: false,
          symbolSize: 7,
          itemStyle: { color: primary },
          data: rows.map(function (r) { return Number(r.weighted); })
        }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
