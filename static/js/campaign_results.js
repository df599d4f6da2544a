/* Coupon results charts (templates/campaigns/campaign_results.html and overview.html),
   without inline script (the Content-Security-Policy forbids it): <div
   data-results-chart="KIND" data-chart-data="ID"> reads its rows from the json_script block
   ID. "days" draws any period (a day or a month per row). */
(function () {
  "use strict";

  function css(name, fallback) {
    return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
  }
  function base() {
    return { textStyle: { fontFamily: getComputedStyle(document.body).fontFamily }, tooltip: {} };
  }
  function names(el, count) {
    var parts = (el.getAttribute("data-series-names") || "").split("|");
    while (parts.length < count) { parts.push(""); }
    return parts;
  }

  var kinds = {
    // Issued and redeemed per day (bars, left axis), the discount given (line, right axis).
    "days": function (rows, el) {
      var n = names(el, 3);
      var o = base();
      o.tooltip = { trigger: "axis" };
      o.legend = { top: 0 };
      o.grid = { left: 8, right: 8, top: 32, bottom: 8, containLabel: true };
      o.xAxis = { type: "category", data: rows.map(function (r) { return r.day; }) };
      o.yAxis = [{ type: "value", minInterval: 1 }, { type: "value", splitLine: { show: false } }];
      o.series = [
        { type: "bar", barMaxWidth: 24, name: n[0], data: rows.map(function (r) { return r.issued; }),
          itemStyle: { color: css("--tblr-primary", "#206bc4") } },
        { type: "bar", barMaxWidth: 24, name: n[1], data: rows.map(function (r) { return r.redeemed; }),
          itemStyle: { color: css("--tblr-green", "#2fb344") } },
        { type: "line", yAxisIndex: 1, name: n[2], data: rows.map(function (r) { return Number(r.discount); }),
          itemStyle: { color: css("--tblr-orange", "#f76707") } }
      ];
      return o;
    },
    // Redemption rate (%) per template.
    "rates": function (rows, el) {
      rows = rows.slice().reverse();
      var o = base();
      o.tooltip = { trigger: "axis", axisPointer: { type: "shadow" } };
      o.grid = { left: 8, right: 56, top: 8, bottom: 8, containLabel: true };
      o.xAxis = { type: "value", max: 100, axisLabel: { formatter: "{value}%" } };
      o.yAxis = { type: "category", data: rows.map(function (r) { return r.name; }) };
      o.series = [{ type: "bar", barMaxWidth: 18, name: names(el, 1)[0],
        data: rows.map(function (r) { return r.rate; }),
        itemStyle: { color: css("--tblr-green", "#2fb344") },
        label: { show: true, position: "right", formatter: function (p) {
          var r = rows[p.dataIndex];
          return r.rate + "% (" + r.redeemed + "/" + r.issued + ")";
        } } }];
      return o;
    },
    // What each owing unit owes each owed unit (net).
    "settlement": function (rows) {
      rows = rows.slice().reverse();
      var o = base();
      o.tooltip = { trigger: "axis", axisPointer: { type: "shadow" } };
      o.grid = { left: 8, right: 72, top: 8, bottom: 8, containLabel: true };
      o.xAxis = { type: "value" };
      o.yAxis = { type: "category", data: rows.map(function (r) { return r.source + " → " + r.target; }) };
      o.series = [{ type: "bar", barMaxWidth: 18, data: rows.map(function (r) { return Number(r.amount); }),
        itemStyle: { color: css("--tblr-purple", "#ae3ec9") }, label: { show: true, position: "right" } }];
      return o;
    },
    // What funding units (left) paid for redemptions at other units (right): a Sankey whose
    // two sides are distinct nodes, so flows both ways between two units make no cycle.
    "flows": function (rows, el) {
      var n = names(el, 2);
      var nodes = {};
      var links = rows.map(function (r) {
        nodes["s:" + r.source] = true;
        nodes["t:" + r.target] = true;
        return { source: "s:" + r.source, target: "t:" + r.target, value: Number(r.amount) };
      });
      function label(id) { return id.slice(2); }
      var o = base();
      o.tooltip = { trigger: "item", formatter: function (p) {
        if (p.dataType === "edge") {
          return label(p.data.source) + " → " + label(p.data.target) + ": " + p.data.value.toLocaleString();
        }
        return label(p.name) + " (" + (p.name.charAt(0) === "s" ? n[0] : n[1]) + ")";
      } };
      o.series = [{ type: "sankey", left: 8, right: 8, top: 8, bottom: 8, nodeAlign: "justify",
        // the redeeming units' names to the left of their node, inside the chart
        data: Object.keys(nodes).map(function (id) {
          return id.charAt(0) === "t" ? { name: id, label: { position: "left" } } : { name: id };
        }),
        links: links, emphasis: { focus: "adjacency" },
        lineStyle: { color: "gradient", curveness: 0.5, opacity: 0.45 },
        itemStyle: { color: css("--tblr-purple", "#ae3ec9") },
        label: { formatter: function (p) { return label(p.name); } } }];
      return o;
    }
  };

  function draw(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-results-chart]").forEach(function (el) {
      var build = kinds[el.getAttribute("data-results-chart")];
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
