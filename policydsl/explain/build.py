"""Decision trace -> explanation (data), and explanation -> text.

The compiled program records events while it runs with tracing on (which branch of a
conditional, which table row, which tier slices, which list elements). Here they are
joined with the AST: every value gets its formula, the values it used, the reason and
the clause it cites. Rendering is separate from building, so other formats can follow.
"""

from __future__ import annotations

import re

import attrs

from policydsl.syntax import nodes as n
from policydsl.syntax import printer
from policydsl.check import types as t
from policydsl.runtime import values


@attrs.frozen
class Used:
    """A value a step used: an input path, a parameter, or another rule."""

    name: str
    value: str
    citations: tuple[str, ...] = ()
    in_force: str | None = None  # for a dated value: the period it is in force


@attrs.frozen
class Detail:
    """A line under a step: a table row, a tier slice or a list element, with its reason."""

    kind: str  # lookup | tiers | tier-slice | element | branch
    text: str
    reasons: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    reason_codes: tuple[str, ...] = ()
    in_force: str | None = None


@attrs.frozen
class Step:
    name: str
    value: str
    is_output: bool
    formula: str
    condition: str | None  # the `when` that chose the branch; "otherwise" when none held
    reasons: tuple[str, ...]
    citations: tuple[str, ...]
    reason_codes: tuple[str, ...]  # stable codes for settlement systems
    uses: tuple[Used, ...]
    details: tuple[Detail, ...]
    location: str
    in_force: str | None = None


@attrs.frozen
class Explanation:
    policy: str
    version: str | None
    lang: str
    period: str | None  # the dates whose values applied, when the policy has dated values
    outputs: tuple[tuple[str, str], ...]
    steps: tuple[Step, ...]

    def to_dict(self) -> dict:
        return attrs.asdict(self)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")").strip()


LABELS = {
    "en": {
        "decision": "Decision for claim {claim}",
        "decision_anonymous": "Decision",
        "policy": "Policy",
        "version": "version",
        "period": "Values in force",
        "how": "How each value was computed:",
        "output": "[output]",
        "using": "using",
        "because": "because",
        "cite": "cite",
        "when": "when",
        "otherwise": "otherwise",
        "in_force": "in force",
        "no_tier": "no part of the band is inside any tier",
        "over": "over",
        "to": "to",
    },
    "zh": {
        "decision": "理赔 {claim} 的结算结果",
        "decision_anonymous": "结算结果",
        "policy": "政策",
        "version": "版本",
        "period": "适用的政策期间",
        "how": "各项计算过程：",
        "output": "[输出]",
        "using": "使用",
        "because": "理由",
        "cite": "依据",
        "when": "当",
        "otherwise": "其他情况",
        "in_force": "施行期间",
        "no_tier": "该区间不在任何分段内",
        "over": "区间",
        "to": "至",
    },
}


def _period(validity) -> str | None:
    return validity.describe() if validity is not None else None


class _Builder:
    def __init__(self, policy, inputs: tuple, segment: int, lang: str):
        self.policy = policy
        self.env = policy.env
        self.inputs = inputs
        self.program = policy.program
        self.segment = self.program.segments[segment]
        self.lang = lang
        self.labels = LABELS[lang]
        self.cache = policy.explain_cache  # per-policy: what each expression reads, printed formulas
        if "node_id" not in self.cache:
            self.cache["node_id"] = {id(node): nid for nid, node in self.program.traced_nodes.items()}
        self.node_id = self.cache["node_id"]
        self.rule_values: dict[str, object] = {}

    def texts(self, annotations, kind: str) -> tuple[str, ...]:
        key = ("texts", id(annotations), kind, self.lang)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = n.annotation_texts(annotations, kind, self.lang)
        return found

    # ---- values used by a rule -----------------------------------------------
    def input_value(self, name: str):
        return self.inputs[self.env.symbols[name].index]

    def uses(self, body) -> tuple[Used, ...]:
        """The values `body` reads, with this claim's values (what is read is cached per policy)."""
        key = ("uses", id(body))
        specs = self.cache.get(key)
        if specs is None:
            specs = self.cache[key] = self.use_specs(body)
        found = []
        for kind, name, extra in specs:
            if kind == "path":
                root, fields, type_ = extra
                value = self.input_value(root)
                for index in fields:
                    value = value[index]
                found.append(Used(name, values.to_text(value, type_)))
            elif kind == "input":
                value = self.input_value(name)
                if not isinstance(value, tuple):
                    found.append(Used(name, values.to_text(value, extra)))
            elif kind == "param":
                definition = self.segment.active[name]
                found.append(Used(name, self.constant_text(name), self.texts(definition.annotations, "cite"), _period(definition.validity)))
            elif name in self.rule_values:
                found.append(Used(name, values.to_text(self.rule_values[name], self.env.def_types[name])))
        return tuple(found)

    def use_specs(self, body) -> list[tuple]:
        """What an expression reads: input paths, inputs, parameters and rules, each once, in order."""
        specs: dict[str, tuple] = {}

        def visit(expr, loop_vars: frozenset):
            match expr:
                case n.Attr() if self.env.resolved.get(id(expr)) is None:
                    chain = self.attr_chain(expr)
                    if chain is not None and chain[0] not in loop_vars and chain[1] is not None:
                        text = _one_line(expr.span.text)
                        specs.setdefault(text, ("path", text, (chain[0], chain[1], self.env.types.get(id(expr)))))
                        return
                case n.Name(id=name) if name not in loop_vars:
                    symbol = self.env.resolved.get(id(expr))
                    if symbol is not None and symbol.kind in ("input", "param", "rule"):
                        specs.setdefault(name, (symbol.kind, name, self.env.types.get(id(expr))))
                    return
                case n.Aggregate(var=var, source=source, body=agg_body, where=where):
                    visit(source, loop_vars)
                    for part in (agg_body, where):
                        if part is not None:
                            visit(part, loop_vars | {var})
                    return
            for child in n.children(expr):
                visit(child, loop_vars)

        visit(body, frozenset())
        return list(specs.values())

    def attr_chain(self, expr):
        fields = []
        while isinstance(expr, n.Attr):
            if id(expr) not in self.env.field_index:
                return None
            fields.append(self.env.field_index[id(expr)])
            expr = expr.obj
        if isinstance(expr, n.Name) and self.env.resolved.get(id(expr)) is not None and self.env.resolved[id(expr)].kind == "input":
            return expr.id, list(reversed(fields))
        if isinstance(expr, n.Name):
            return expr.id, None
        return None

    def constant_text(self, name: str) -> str:
        value = self.segment.constants[name]
        type_ = self.env.def_types.get(name)
        if isinstance(type_, t.SetType):
            return "{" + ", ".join(sorted(map(str, value))) + "}"
        return values.to_text(value, type_)

    # ---- events --------------------------------------------------------------
    def details(self, rule: str, body, events: list) -> tuple[tuple[Detail, ...], int | None]:
        """Turn a rule's events into detail lines; also return the top-level branch taken."""
        top_branch = None
        details: list[Detail] = []
        pending: list = []
        top_id = self.node_id.get(id(body)) if isinstance(body, n.Conditional) else None
        for event in events:
            kind, nid = event[0], event[1]
            if kind == "branch" and nid == top_id:
                top_branch = event[2]
            elif kind == "element":
                details.append(self.element_detail(nid, event[2], event[3], pending))
                pending = []
            else:
                pending.append(event)
        for event in pending:
            details.extend(self.event_detail(event))
        return tuple(details), top_branch

    def event_detail(self, event) -> list[Detail]:
        kind, nid = event[0], event[1]
        node = self.program.traced_nodes[nid]
        if kind == "lookup":
            _, _, key, value = event
            table = self.env.symbols[node.obj.id].node
            rows = self.segment.rows[table.name]
            row = next((r for r in rows if r.key == key), None) or next((r for r in rows if r.key is None), None)
            row_annotations = row.annotations if row is not None else ()
            value_type = self.env.types.get(id(node))
            return [
                Detail(
                    "lookup",
                    f"{table.name}[{key}] = {values.to_text(value, value_type)}",
                    self.texts(row_annotations, "because"),
                    self.texts(table.annotations, "cite") + self.texts(row_annotations, "cite"),
                    self.texts(row_annotations, "reason"),
                    _period(row.validity) if row is not None else None,
                )
            ]
        if kind == "tiers":
            _, _, lower, upper, slices = event
            schedule = self.segment.active[node.schedule]
            labels = self.labels
            lines = [
                Detail(
                    "tiers",
                    f"{schedule.name} {labels['over']} {values.money(lower)} {labels['to']} {values.money(upper)}"
                    + ("" if slices else f": {labels['no_tier']}"),
                    self.texts(schedule.annotations, "because"),
                    self.texts(schedule.annotations, "cite"),
                    self.texts(schedule.annotations, "reason"),
                    _period(schedule.validity),
                )
            ]
            for band_index, low, high, rate, paid in slices:
                band = schedule.bands[band_index]
                lines.append(
                    Detail(
                        "tier-slice",
                        f"{values.money(low)} {labels['to']} {values.money(high)}: {values.money(high - low)} x {values.percent(rate)} = {values.money(paid)}",
                        self.texts(band.annotations, "because"),
                        self.texts(band.annotations, "cite"),
                    )
                )
            return lines
        if kind == "branch":
            branch = node.branches[event[2]]
            return [
                Detail(
                    "branch",
                    self.branch_text(branch),
                    self.texts(branch.annotations, "because"),
                    self.texts(branch.annotations, "cite"),
                    self.texts(branch.annotations, "reason"),
                )
            ]
        raise AssertionError(event)

    def element_detail(self, nid: int, index: int, value, events: list) -> Detail:
        aggregate = self.program.traced_nodes[nid]
        source_type = self.env.types.get(id(aggregate.source))
        source_text = _one_line(aggregate.source.span.text)
        element = self.element_value(aggregate, index)
        described = self.describe_record(element, source_type.element if isinstance(source_type, t.ListType) else None)
        reasons: tuple[str, ...] = ()
        citations: tuple[str, ...] = ()
        codes: tuple[str, ...] = ()
        for event in events:
            if event[0] == "branch":
                branch = self.program.traced_nodes[event[1]].branches[event[2]]
                reasons += self.texts(branch.annotations, "because")
                citations += self.texts(branch.annotations, "cite")
                codes += self.texts(branch.annotations, "reason")
        value_type = self.env.types.get(id(aggregate.body)) if aggregate.body is not None else t.INT
        return Detail("element", f"{source_text}[{index}] {described}: {values.to_text(value, value_type)}", reasons, citations, codes)

    def element_value(self, aggregate: n.Aggregate, index: int):
        source = aggregate.source
        chain = self.attr_chain(source) if isinstance(source, n.Attr) else None
        if isinstance(source, n.Name) and self.env.resolved.get(id(source)) and self.env.resolved[id(source)].kind == "input":
            return self.input_value(source.id)[index]
        if chain and chain[1] is not None:
            value = self.input_value(chain[0])
            for field in chain[1]:
                value = value[field]
            return value[index]
        return None

    def describe_record(self, element, element_type) -> str:
        if not isinstance(element_type, t.RecordType) or element is None:
            return ""
        record = self.env.records[element_type.name]
        parts = [
            f"{field.name}={values.to_text(value, self.env.field_types[(record.name, field.name)])}"
            for field, value in zip(record.fields, element)
        ]
        return "(" + ", ".join(parts) + ")"

    def branch_text(self, branch: n.Branch) -> str:
        if branch.condition is None:
            return self.labels["otherwise"]
        return f"{self.labels['when']} {self.printed(branch.condition)}"

    def printed(self, expr) -> str:
        key = ("printed", id(expr))
        if key not in self.cache:
            self.cache[key] = printer.expression(expr, brief=True)
        return self.cache[key]

    # ---- steps -----------------------------------------------------------------
    def build(self, outputs: dict, steps: list) -> Explanation:
        output_names = set(self.policy.output_names)
        built = []
        for rule_index, value, events in steps:
            name = self.program.rule_names[rule_index]
            rule: n.RuleDef = self.segment.active[name]
            self.rule_values[name] = value
            details, branch_index = self.details(name, rule.body, events)
            reasons = self.texts(rule.annotations, "because")
            citations = self.texts(rule.annotations, "cite")
            codes = self.texts(rule.annotations, "reason")
            condition = None
            formula_node = rule.body
            if isinstance(rule.body, n.Conditional) and branch_index is not None:
                branch = rule.body.branches[branch_index]
                condition = self.branch_text(branch)
                formula_node = branch.value
                reasons += self.texts(branch.annotations, "because")
                citations += self.texts(branch.annotations, "cite")
                codes += self.texts(branch.annotations, "reason")
                # What decided the branch (its condition, or every earlier one), then what computed the value.
                deciding = (branch.condition,) if branch.condition is not None else tuple(b.condition for b in rule.body.branches[:branch_index])
                uses = ()
                for part in (*deciding, branch.value):
                    uses += tuple(u for u in self.uses(part) if u not in uses)
            else:
                uses = self.uses(rule.body)
            built.append(
                Step(
                    name=name,
                    value=values.to_text(value, self.env.def_types[name]),
                    is_output=name in output_names,
                    formula=self.printed(formula_node),
                    condition=condition,
                    reasons=reasons,
                    citations=tuple(dict.fromkeys(citations)),
                    reason_codes=codes or (self.default_code(name, rule.body, branch_index),),
                    uses=uses,
                    details=details,
                    location=rule.span.location,
                    in_force=_period(rule.validity),
                )
            )
        shown_outputs = tuple(
            (name, values.to_text(outputs[name], ty)) for name, ty in zip(self.policy.output_names, self.policy.output_types)
        )
        period = self.segment.describe() if len(self.program.segments) > 1 else None
        return Explanation(self.policy.title or self.policy.name, self.policy.version, self.lang, period, shown_outputs, tuple(built))

    @staticmethod
    def default_code(name: str, body, branch_index: int | None) -> str:
        """A rule without `reason CODE` gets `rule` or `rule.when1` / `rule.otherwise`."""
        if isinstance(body, n.Conditional) and branch_index is not None:
            last = len(body.branches) - 1
            return f"{name}.otherwise" if branch_index == last else f"{name}.when{branch_index + 1}"
        return name


def build_explanation(policy, inputs: tuple, outputs: dict, steps: list, segment: int = 0, lang: str = "en") -> Explanation:
    return _Builder(policy, inputs, segment, lang).build(outputs, steps)


def _used(used: Used, labels: dict) -> str:
    cited = f" [{'; '.join(used.citations)}]" if used.citations else ""
    dated = f" ({labels['in_force']} {used.in_force})" if used.in_force else ""
    return f"{used.name} = {used.value}{dated}{cited}"


def render_text(explanation: Explanation, claim_id: str | int | None = None, lang: str | None = None) -> str:
    """The readable explanation: outputs first, then every computed value in order."""
    labels = LABELS[lang or explanation.lang]
    title = explanation.policy + (f" ({labels['version']} {explanation.version})" if explanation.version else "")
    heading = labels["decision"].format(claim=claim_id) if claim_id is not None else labels["decision_anonymous"]
    lines = [heading, f"{labels['policy']}: {title}"]
    if explanation.period:
        lines.append(f"{labels['period']}: {explanation.period}")
    lines.append("")
    width = max((len(name) for name, _ in explanation.outputs), default=0)
    for name, value in explanation.outputs:
        lines.append(f"  {name.ljust(width)}  {value}")
    lines += ["", labels["how"]]
    for step in explanation.steps:
        marker = f"  {labels['output']}" if step.is_output else ""
        lines.append("")
        lines.append(f"{step.name} = {step.value}{marker}")
        if step.in_force:
            lines.append(f"  {labels['in_force']}: {step.in_force}")
        if step.condition:
            lines.append(f"  {step.condition}")
        lines.append(f"  = {step.formula}")
        if step.uses:
            lines.append(f"  {labels['using']} " + ", ".join(_used(u, labels) for u in step.uses))
        for reason in step.reasons:
            lines.append(f"  {labels['because']}: {reason}")
        for citation in step.citations:
            lines.append(f"  {labels['cite']}: {citation}")
        for detail in step.details:
            line = f"  {'    ' if detail.kind == 'tier-slice' else ''}- {detail.text}"
            if detail.in_force:
                line += f" ({labels['in_force']} {detail.in_force})"
            if detail.reasons:
                line += " -- " + "; ".join(detail.reasons)
            if detail.citations:
                line += " [" + "; ".join(dict.fromkeys(detail.citations)) + "]"
            lines.append(line)
    return "\n".join(lines) + "\n"
