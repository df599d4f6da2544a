/* The loyalty dashboards' charts (templates/members/dashboards.html), without inline script
   (the Content-Security-Policy forbids it): <div data-member-chart="KIND"
   data-chart-data="ID"> reads its rows from the json_script block ID. */
(function () {
  "use strict";

  function css(name, fallback) {
    return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
  }
  function base() {
    return { textStyle: { fontFamily: getComputedStyle(document.body).fontFamily }, tooltip: {} };
  }
  function unique(values) {
    return values.filter(function (v, i) { return values.indexOf(v) === i; });
  }

  var kinds = {
    "by-level": function (rows, el) {
      var o = base();
      o.grid = { left: 8, right: 40, top: 8, bottom: 8, containLabel: true };
      o.xAxis = { type: "value", minInterval: 1 };
      o.yAxis = { type: "category", data: rows.map(function (r) { return r.level; }) };
      o.series = [{ type: "bar", barMaxWidth: 40, name: el.getAttribute("data-series-name"), data: rows.map(function (r) { return r.count; }),
        itemStyle: { color: css("--tblr-yellow", "#f59f00") }, label: { show: true, position: "right" } }];
      return o;
    },
    "liability": function (rows, el) {
      var o = base();
      o.grid = { left: 8, right: 40, top: 8, bottom: 8, containLabel: true };
      o.xAxis = { type: "category", data: rows.map(function (r) { return r.unit; }) };
      o.yAxis = { type: "value" };
      o.series = [{ type: "bar", barMaxWidth: 40, name: el.getAttribute("data-series-name"), data: rows.map(function (r) { return r.outstanding; }),
        itemStyle: { color: css("--tblr-primary", "#206bc4") } }];
      return o;
    },
    "stacked-months": function (rows) {
      var months = unique(rows.map(function (r) { return r.month; }));
      var keys = unique(rows.map(function (r) { return r.key; }));
      var o = base();
      o.tooltip = { trigger: "axis" };
      o.legend = { top: 0 };
      o.grid = { left: 8, right: 8, top: 32, bottom: 8, containLabel: true };
      o.xAxis = { type: "category", data: months };
      o.yAxis = { type: "value", minInterval: 1 };
      o.series = keys.map(function (k) {
        return { type: "bar", barMaxWidth: 40, stack: "all", name: k, data: months.map(function (m) {
          var hit = rows.filter(function (r) { return r.month === m && r.key === k; })[0];
          return hit ? hit.count : 0;
        }) };
      });
      return o;
    },
    "points-flow": function (rows, el) {
      var labels = (el.getAttribute("data-labels") || "Issued|Redeemed|Expired").split("|");
      var o = base();
      o.tooltip = { trigger: "axis" };
      o.legend = { top: 0 };
      o.grid = { left: 8, right: 8, top: 32, bottom: 8, containLabel: true };
      o.xAxis = { type: "category", data: rows.map(function (r) { return r.unit; }) };
      o.yAxis = { type: "value" };
      o.series = ["issued", "redeemed", "expired"].map(function (key, i) {
        return { type: "bar", barMaxWidth: 32, name: labels[i], data: rows.map(function (r) { return r[key]; }) };
      });
      return o;
    },
    "flow-matrix": function (rows, el) {
      var units = JSON.parse(document.getElementById(el.getAttribute("data-units")).textContent);
      var axes = (el.getAttribute("data-axis-labels") || "Spent at|Funded by").split("|");
      var max = rows.reduce(function (m, r) { return Math.max(m, r.points); }, 1);
      var o = base();
      o.tooltip = { position: "top", formatter: function (p) {
        return units[p.value[1]] + " → " + units[p.value[0]] + ": " + p.value[2];
      } };
      o.grid = { left: 28, right: 8, top: 8, bottom: 72, containLabel: true };
      o.xAxis = { type: "category", data: units, name: axes[0], nameLocation: "middle", nameGap: 26, splitArea: { show: true } };
      o.yAxis = { type: "category", data: units, name: axes[1], nameLocation: "middle", nameRotate: 90, nameGap: 44, splitArea: { show: true } };
      o.visualMap = { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0, itemHeight: 80, itemWidth: 12, textGap: 6 };
      o.series = [{ type: "heatmap", label: { show: true }, data: rows.map(function (r) {
        return [units.indexOf(r.target), units.indexOf(r.source), r.points];
      }) }];
      return o;
    }
  };

  function draw(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-member-chart]").forEach(function (el) {
      var build = kinds[el.getAttribute("data-member-chart")];
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
