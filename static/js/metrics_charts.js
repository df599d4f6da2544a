/* The customer metrics dashboard's charts (templates/crm/metrics/dashboard.html), without
   inline script (the Content-Security-Policy forbids it): <div data-metrics-chart="KIND"
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
    // Customers per RFM segment, with the segment's share of net spend in the label.
    "segments": function (rows, el) {
      rows = rows.slice().reverse();
      var o = base();
      o.tooltip = { trigger: "axis", axisPointer: { type: "shadow" } };
      o.grid = { left: 8, right: 64, top: 8, bottom: 8, containLabel: true };
      o.xAxis = { type: "value", minInterval: 1 };
      o.yAxis = { type: "category", data: rows.map(function (r) { return r.label; }) };
      o.series = [{ type: "bar", barMaxWidth: 18, name: el.getAttribute("data-series-name"),
        data: rows.map(function (r) { return r.customers; }),
        itemStyle: { color: css("--tblr-purple", "#ae3ec9") },
        label: { show: true, position: "right", formatter: function (p) {
          var share = rows[p.dataIndex].share;
          return p.value + (rows[p.dataIndex].key === "no_purchase" ? "" : " · " + share + "%");
        } } }];
      return o;
    },
    "donut": function (rows) {
      var o = base();
      o.tooltip = { trigger: "item" };
      o.legend = { bottom: 0 };
      o.series = [{ type: "pie", radius: ["40%", "70%"], center: ["50%", "45%"],
        data: rows.map(function (r) { return { name: r.label, value: r.customers }; }),
        label: { formatter: "{b}: {c}" } }];
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
    // Stage changes: "then" nodes on the left, "now" nodes on the right (no cycles).
    "sankey": function (rows, el) {
      var prefixes = (el.getAttribute("data-prefixes") || "Then|Now").split("|");
      var names = [];
      var links = rows.map(function (r) {
        var s = prefixes[0] + " · " + r.source, t = prefixes[1] + " · " + r.target;
        if (names.indexOf(s) < 0) { names.push(s); }
        if (names.indexOf(t) < 0) { names.push(t); }
        return { source: s, target: t, value: r.count };
      });
      var o = base();
      o.tooltip = { trigger: "item" };
      o.series = [{ type: "sankey", left: 8, right: 120, top: 8, bottom: 8, nodeAlign: "justify",
        data: names.map(function (n) { return { name: n }; }), links: links,
        lineStyle: { color: "gradient", opacity: 0.4 } }];
      return o;
    },
    // R (rows) × F (columns): customers per cell, net spend in the tooltip.
    "heatmap": function (rows, el) {
      var labels = (el.getAttribute("data-axis-labels") || "F|R|Customers|Net spend").split("|");
      var scores = ["1", "2", "3", "4", "5"];
      var max = rows.reduce(function (m, r) { return Math.max(m, r[2]); }, 1);
      var o = base();
      o.tooltip = { position: "top", formatter: function (p) {
        return labels[1] + " " + (p.value[1] + 1) + " · " + labels[0] + " " + (p.value[0] + 1) + "<br>" +
          labels[2] + ": " + p.value[2] + "<br>" + labels[3] + ": " + Math.round(p.value[3]).toLocaleString();
      } };
      o.grid = { left: 40, right: 8, top: 8, bottom: 72, containLabel: true };
      o.xAxis = { type: "category", data: scores, name: labels[0], nameLocation: "middle", nameGap: 26, splitArea: { show: true } };
      o.yAxis = { type: "category", data: scores, name: labels[1], nameLocation: "middle", nameRotate: 90, nameGap: 30, splitArea: { show: true } };
      o.visualMap = { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0, itemHeight: 80, itemWidth: 12, dimension: 2 };
      o.series = [{ type: "heatmap", label: { show: true }, data: rows }];
      return o;
    },
    "bars": function (rows, el) {
      var o = base();
      o.tooltip = { trigger: "axis", axisPointer: { type: "shadow" } };
      o.grid = { left: 8, right: 8, top: 16, bottom: 8, containLabel: true };
      o.xAxis = { type: "category", data: rows.map(function (r) { return r.label; }) };
      o.yAxis = { type: "value", minInterval: 1 };
      o.series = [{ type: "bar", barMaxWidth: 40, name: el.getAttribute("data-series-name"),
        data: rows.map(function (r) { return r.customers; }),
        itemStyle: { color: css("--tblr-primary", "#206bc4") }, label: { show: true, position: "top" } }];
      return o;
    },
    "funnel": function (rows) {
      var o = base();
      o.tooltip = { trigger: "item", formatter: "{b}: {c}" };
      o.series = [{ type: "funnel", left: "10%", width: "80%", sort: "none", gap: 2,
        label: { show: true, position: "inside", formatter: "{b}: {c}" },
        data: rows.map(function (r) { return { name: r.label, value: r.customers }; }) }];
      return o;
    }
  };

  function draw(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-metrics-chart]").forEach(function (el) {
      var build = kinds[el.getAttribute("data-metrics-chart")];
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
