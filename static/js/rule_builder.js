/* The rule builder: edits the JSON rule of a hidden textarea as groups and conditions
   (no raw JSON for users). The catalogue of fields, operators and texts comes from the
   server in the user's language (crm/web/rule_builder.py). Every change writes the rule
   back and fires "rulechange" on the textarea (htmx counts the matches, debounced). */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function Builder(root) {
    this.root = root;
    this.input = document.getElementById(root.dataset.input);
    this.catalogue = JSON.parse(document.getElementById(root.dataset.catalogue).textContent);
    this.fields = {};
    var self = this;
    this.catalogue.fields.forEach(function (f) { self.fields[f.key] = f; });
    this.tree = root.querySelector("[data-rule-tree]");
    this.model = this.parse(this.input.value);
    this.render();
  }

  Builder.prototype.t = function (key) { return this.catalogue.text[key] || key; };

  Builder.prototype.emptyCondition = function () { return { field: "", op: "", value: null, params: {} }; };

  Builder.prototype.parse = function (text) {
    var rule = null;
    try { rule = text ? JSON.parse(text) : null; } catch (e) { rule = null; }
    var group = rule ? this.toGroup(rule) : null;
    return group || { kind: "all", negate: false, children: [this.emptyCondition()] };
  };

  Builder.prototype.toGroup = function (node) {
    if (!node || typeof node !== "object") return null;
    if (node.not) {
      var inner = this.toGroup(node.not);
      if (inner) inner.negate = !inner.negate;
      return inner;
    }
    var kind = node.all ? "all" : node.any ? "any" : null;
    if (!kind) return { kind: "all", negate: false, children: [this.toCondition(node)] };
    var self = this;
    return {
      kind: kind,
      negate: false,
      children: (node[kind] || []).map(function (child) {
        return child && (child.all || child.any || child.not) ? self.toGroup(child) : self.toCondition(child || {});
      })
    };
  };

  Builder.prototype.toCondition = function (node) {
    return { field: node.field || "", op: node.op || "", value: node.value === undefined ? null : node.value, params: node.params || {} };
  };

  Builder.prototype.serialize = function (item) {
    var self = this;
    if (item.children) {
      var out = {};
      out[item.kind] = item.children.map(function (c) { return self.serialize(c); });
      return item.negate ? { not: out } : out;
    }
    var node = { field: item.field, op: item.op };
    if (this.catalogue.noValue.indexOf(item.op) < 0) node.value = item.value;
    var params = {};
    Object.keys(item.params || {}).forEach(function (k) {
      if (item.params[k] !== "" && item.params[k] !== null && item.params[k] !== undefined) params[k] = item.params[k];
    });
    if (Object.keys(params).length) node.params = params;
    return node;
  };

  Builder.prototype.changed = function () {
    this.input.value = JSON.stringify(this.serialize(this.model));
    this.input.dispatchEvent(new Event("rulechange", { bubbles: true }));
  };

  Builder.prototype.render = function () {
    this.tree.textContent = "";
    this.tree.appendChild(this.renderGroup(this.model, null, ""));
    this.input.value = JSON.stringify(this.serialize(this.model));
  };

  Builder.prototype.pathOf = function (base, group, index) {
    var key = group.kind + "[" + index + "]";
    var prefix = group.negate ? (base ? base + ".not" : "not") : base;
    return prefix ? prefix + "." + key : key;
  };

  Builder.prototype.renderGroup = function (group, parent, path) {
    var self = this;
    var kind = el("select", { className: "form-select form-select-sm w-auto", "aria-label": this.t("all"), "data-testid": "group-kind" });
    ["all", "any"].forEach(function (k) {
      var option = el("option", { value: k, text: self.t(k) });
      if (group.kind === k) option.selected = true;
      kind.appendChild(option);
    });
    kind.addEventListener("change", function () { group.kind = kind.value; self.render(); self.changed(); });
    var negate = el("input", { type: "checkbox", className: "form-check-input", "data-testid": "group-not" });
    negate.checked = !!group.negate;
    negate.addEventListener("change", function () { group.negate = negate.checked; self.render(); self.changed(); });
    var header = el("div", { className: "d-flex flex-wrap align-items-center gap-2 mb-2" }, [
      kind,
      el("label", { className: "form-check form-check-inline m-0" }, [negate, el("span", { className: "form-check-label", text: this.t("not") })])
    ]);
    if (parent) {
      var remove = el("button", { type: "button", className: "btn btn-sm btn-ghost-danger ms-auto", text: this.t("remove") });
      remove.addEventListener("click", function () {
        parent.children.splice(parent.children.indexOf(group), 1);
        if (!parent.children.length) parent.children.push(self.emptyCondition());
        self.render(); self.changed();
      });
      header.appendChild(remove);
    }
    var body = el("div", { className: "rule-group-body" });
    group.children.forEach(function (child, index) {
      var childPath = self.pathOf(path, group, index);
      body.appendChild(child.children ? self.renderGroup(child, group, childPath) : self.renderCondition(child, group, childPath));
    });
    var addCondition = el("button", { type: "button", className: "btn btn-sm", text: "+ " + this.t("addCondition"), "data-testid": "add-condition" });
    addCondition.addEventListener("click", function () { group.children.push(self.emptyCondition()); self.render(); });
    var addGroup = el("button", { type: "button", className: "btn btn-sm", text: "+ " + this.t("addGroup"), "data-testid": "add-group" });
    addGroup.addEventListener("click", function () {
      group.children.push({ kind: "any", negate: false, children: [self.emptyCondition()] });
      self.render();
    });
    return el("div", { className: "rule-group border rounded p-2 mb-2", "data-path": path || "rule", "data-testid": "rule-group" }, [
      header, body, el("div", { className: "d-flex gap-2" }, [addCondition, addGroup])
    ]);
  };

  Builder.prototype.fieldSelect = function (cond) {
    var self = this;
    var select = el("select", { className: "form-select form-select-sm", "aria-label": this.t("field"), "data-testid": "condition-field" });
    select.appendChild(el("option", { value: "", text: this.t("chooseField") }));
    var groups = {};
    this.catalogue.fields.forEach(function (f) {
      if (!groups[f.group]) { groups[f.group] = el("optgroup", { label: f.group }); select.appendChild(groups[f.group]); }
      var option = el("option", { value: f.key, text: f.label });
      if (f.key === cond.field) option.selected = true;
      groups[f.group].appendChild(option);
    });
    select.addEventListener("change", function () {
      cond.field = select.value; cond.op = ""; cond.value = null; cond.params = {};
      var spec = self.fields[cond.field];
      if (spec) cond.op = self.catalogue.operators[spec.type][0][0];
      self.render(); self.changed();
    });
    return select;
  };

  Builder.prototype.opSelect = function (cond, spec) {
    var self = this;
    var select = el("select", { className: "form-select form-select-sm", "aria-label": this.t("operator"), "data-testid": "condition-op" });
    this.catalogue.operators[spec.type].forEach(function (pair) {
      var option = el("option", { value: pair[0], text: pair[1] });
      if (pair[0] === cond.op) option.selected = true;
      select.appendChild(option);
    });
    if (!cond.op) cond.op = this.catalogue.operators[spec.type][0][0];
    select.addEventListener("change", function () {
      var wasList = self.listValued(spec, cond.op);
      cond.op = select.value;
      if (wasList !== self.listValued(spec, cond.op) || cond.op === "between") cond.value = null;
      self.render(); self.changed();
    });
    return select;
  };

  Builder.prototype.listValued = function (spec, op) { return spec.type === "choice" || spec.type === "set" || op === "between"; };

  Builder.prototype.valueEditor = function (cond, spec) {
    var self = this;
    if (this.catalogue.noValue.indexOf(cond.op) >= 0) return null;
    function input(type, value, set, label) {
      var node = el("input", { type: type, className: "form-control form-control-sm", "aria-label": label || self.t("value"), "data-testid": "condition-value" });
      if (type === "number") node.setAttribute("step", spec.type === "money" ? "0.01" : "1");
      node.value = value === null || value === undefined ? "" : value;
      node.addEventListener("input", function () { set(node.value); self.changed(); });
      return node;
    }
    if (spec.type === "choice" || spec.type === "set") {
      var select = el("select", { multiple: "multiple", size: "4", className: "form-select form-select-sm", "aria-label": this.t("value"), title: this.t("multiHint"), "data-testid": "condition-value" });
      var chosen = (cond.value || []).map(String);
      (spec.choices || []).forEach(function (pair) {
        var option = el("option", { value: pair[0], text: pair[1] || pair[0] });
        if (chosen.indexOf(pair[0]) >= 0) option.selected = true;
        select.appendChild(option);
      });
      select.addEventListener("change", function () {
        cond.value = Array.prototype.filter.call(select.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
        self.changed();
      });
      return select;
    }
    if (cond.op === "between") {
      var pair = Array.isArray(cond.value) ? cond.value : ["", ""];
      cond.value = pair;
      return el("div", { className: "d-flex gap-1 align-items-center" }, [
        input("number", pair[0], function (v) { pair[0] = v; }, this.t("from")),
        el("span", { text: this.t("to") }),
        input("number", pair[1], function (v) { pair[1] = v; }, this.t("to"))
      ]);
    }
    if (spec.type === "datetime") {
      var days = cond.op === "within_last_days" || cond.op === "not_within_last_days";
      return input(days ? "number" : "date", cond.value, function (v) { cond.value = days ? (v === "" ? null : parseInt(v, 10)) : v; });
    }
    var kind = spec.type === "text" ? "text" : "number";
    return input(kind, cond.value, function (v) { cond.value = kind === "number" && spec.type === "number" && v !== "" ? parseInt(v, 10) : v; });
  };

  Builder.prototype.paramEditors = function (cond, spec) {
    var self = this;
    var out = [];
    if (spec.params.indexOf("days") >= 0) {
      var days = el("input", { type: "number", min: "1", className: "form-control form-control-sm rule-days", placeholder: this.t("daysHint"), "aria-label": this.t("days"), "data-testid": "condition-days" });
      days.value = cond.params.days || "";
      days.addEventListener("input", function () { cond.params.days = days.value === "" ? null : parseInt(days.value, 10); self.changed(); });
      out.push(el("label", { className: "d-flex align-items-center gap-1 small text-secondary" }, [el("span", { text: this.t("days") }), days]));
    }
    if (spec.params.indexOf("unit") >= 0) {
      var unit = el("select", { className: "form-select form-select-sm w-auto", "aria-label": this.t("unit"), "data-testid": "condition-unit" });
      unit.appendChild(el("option", { value: "", text: this.t("anyUnit") }));
      this.catalogue.units.forEach(function (pair) {
        var option = el("option", { value: pair[0], text: pair[1] });
        if (String(cond.params.unit || "") === pair[0]) option.selected = true;
        unit.appendChild(option);
      });
      unit.addEventListener("change", function () { cond.params.unit = unit.value ? parseInt(unit.value, 10) : null; self.changed(); });
      out.push(el("label", { className: "d-flex align-items-center gap-1 small text-secondary" }, [el("span", { text: this.t("unit") }), unit]));
    }
    return out;
  };

  Builder.prototype.renderCondition = function (cond, parent, path) {
    var self = this;
    var spec = this.fields[cond.field];
    var row = el("div", { className: "rule-condition d-flex flex-wrap align-items-start gap-2 mb-2", "data-path": path, "data-testid": "rule-condition" });
    row.appendChild(el("div", { className: "rule-field" }, [this.fieldSelect(cond)]));
    if (spec) {
      row.appendChild(el("div", { className: "rule-op" }, [this.opSelect(cond, spec)]));
      var value = this.valueEditor(cond, spec);
      if (value) row.appendChild(el("div", { className: "rule-value" }, [value]));
      this.paramEditors(cond, spec).forEach(function (p) { row.appendChild(p); });
      if (spec.help) row.appendChild(el("div", { className: "w-100 small text-secondary", text: spec.help }));
    }
    var remove = el("button", { type: "button", className: "btn btn-sm btn-ghost-danger ms-auto", text: this.t("remove"), "data-testid": "condition-remove" });
    remove.addEventListener("click", function () {
      parent.children.splice(parent.children.indexOf(cond), 1);
      if (!parent.children.length) parent.children.push(self.emptyCondition());
      self.render(); self.changed();
    });
    row.appendChild(remove);
    return row;
  };

  /* Errors the server named by path: mark the condition or group they belong to. */
  function markErrors(scope) {
    document.querySelectorAll("[data-rule-builder] .is-rule-invalid").forEach(function (n) { n.classList.remove("is-rule-invalid"); });
    (scope || document).querySelectorAll("[data-rule-error-path]").forEach(function (item) {
      var path = item.getAttribute("data-rule-error-path");
      var best = null;
      document.querySelectorAll("[data-rule-builder] [data-path]").forEach(function (node) {
        var p = node.getAttribute("data-path");
        if (path === p || path.indexOf(p + ".") === 0 || path.indexOf(p + "[") === 0) {
          if (!best || p.length > best.getAttribute("data-path").length) best = node;
        }
      });
      if (best) best.classList.add("is-rule-invalid");
    });
  }

  function start() {
    document.querySelectorAll("[data-rule-builder]").forEach(function (root) {
      if (!root.ruleBuilder) root.ruleBuilder = new Builder(root);
    });
    markErrors(document);
  }

  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSwap", function (event) { markErrors(event.target); });
})();
