"""The rule builder (no raw JSON for users): the catalogue of fields and operators the
builder's script reads (``static/js/rule_builder.js``), its form widget (used by the
segment screens and the admin of tag rules), and a rule read aloud in the user's language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _

from crm.rules import NO_VALUE, OPERATOR_LABELS, OPERATORS, RuleField, rule_field, rule_fields


def builder_catalogue() -> dict[str, Any]:
    """What the builder offers, in the current language (choices read once per page)."""
    from crm.models import BusinessUnit

    fields = []
    for spec in rule_fields():
        fields.append(
            {
                "key": spec.key,
                "label": str(spec.label),
                "group": str(spec.group),
                "type": spec.type,
                "params": list(spec.params),
                "help": str(spec.help),
                "choices": [[str(v), str(label)] for v, label in spec.choices()]
                if spec.choices
                else None,
            }
        )
    return {
        "fields": fields,
        "operators": {
            type_: [[op, str(OPERATOR_LABELS[op])] for op in ops]
            for type_, ops in OPERATORS.items()
        },
        "noValue": sorted(NO_VALUE),
        "units": [[str(u.pk), f"{u.code} {u.name}"] for u in BusinessUnit.objects.order_by("code")],
        "text": {
            "all": _("All of these hold"),
            "any": _("Any of these holds"),
            "not": _("None of this (not)"),
            "addCondition": _("Add a condition"),
            "addGroup": _("Add a group"),
            "remove": _("Remove"),
            "field": _("Field"),
            "operator": _("Operator"),
            "value": _("Value"),
            "from": _("from"),
            "to": _("to"),
            "days": _("in the last … days"),
            "daysHint": _("days (empty: all time)"),
            "unit": _("in business unit"),
            "anyUnit": _("any business unit"),
            "chooseField": _("Choose a field…"),
            "multiHint": _("Hold Ctrl (⌘) to choose several."),
        },
    }


def catalogue_json() -> str:
    """The catalogue as JSON safe inside a ``<script type="application/json">``."""
    import json

    from django.utils.safestring import mark_safe

    text = json.dumps(builder_catalogue(), ensure_ascii=False)
    escaped = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(escaped)  # noqa: S308 (JSON with <, > and & escaped)


class RuleBuilderWidget(forms.Widget):
    """A hidden JSON input edited by the builder script; the catalogue rides with it."""

    template_name = "crm/rules/builder_widget.html"

    class Media:
        js = ("js/rule_builder.js",)
        css = {"all": ("css/rule_builder.css",)}

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["catalogue_json"] = catalogue_json()
        return context

    def _render(self, template_name: str, context: Any, renderer: Any = None) -> Any:
        """From the project's templates (the default form renderer reads Django's only)."""
        from django.template.loader import render_to_string
        from django.utils.safestring import mark_safe

        return mark_safe(render_to_string(template_name, context))  # noqa: S308 (a template)

    def format_value(self, value: Any) -> str:
        import json

        if value in (None, ""):
            return ""
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)


def _value_text(spec: RuleField, value: Any, cache: dict[str, Any]) -> str:
    if isinstance(value, list):
        if spec.choices:
            if spec.key not in cache:  # a list of rules reads each field's choices once
                cache[spec.key] = {str(v): str(label) for v, label in spec.choices()}
            labels = cache[spec.key]
            return "、".join(labels.get(str(v), str(v)) for v in value)
        return " – ".join(str(v) for v in value)
    return str(value)


def _params_text(node: dict[str, Any], cache: dict[str, Any]) -> str:
    from crm.models import BusinessUnit

    params = node.get("params") or {}
    parts = []
    if params.get("days"):
        parts.append(_("in the last %(days)d days") % {"days": params["days"]})
    if params.get("unit"):
        if "units" not in cache:
            cache["units"] = dict(BusinessUnit.objects.values_list("pk", "name"))
        name = cache["units"].get(params["unit"], params["unit"])
        parts.append(_("in %(unit)s") % {"unit": name})
    return f" ({', '.join(parts)})" if parts else ""


def describe_rule(rule: Any, cache: dict[str, Any] | None = None) -> str:
    """The rule as a sentence: ``Customer kind is one of Person AND (…)``. ``cache``: shared
    by the rules of one page, so that each field's choices are read once."""
    cache = {} if cache is None else cache
    if not isinstance(rule, dict):
        return ""
    if "all" in rule or "any" in rule:
        key = "all" if "all" in rule else "any"
        joiner = _(" AND ") if key == "all" else _(" OR ")
        parts = [describe_rule(child, cache) for child in rule[key]]
        text = joiner.join(parts)
        return text if len(parts) == 1 else f"({text})"
    if "not" in rule:
        return _("NOT %(rule)s") % {"rule": describe_rule(rule["not"], cache)}
    spec = rule_field(str(rule.get("field")))
    if spec is None:
        return str(rule.get("field"))
    op = str(rule.get("op"))
    text = f"{spec.label}{_params_text(rule, cache)} {OPERATOR_LABELS.get(op, op)}"
    if op not in NO_VALUE and "value" in rule:
        text += f" {_value_text(spec, rule['value'], cache)}"
    return text
