"""Decision trace + AST -> explanation (data): `build_explanation` gives an `Explanation`.

The compiled program records typed events while it runs with tracing on (`runtime.trace`:
which branch of a conditional, which table row, which tier slices, which list elements).
Here they are read by attribute and joined with the AST through the compiler's node ids:
every value gets its formula, the values it used (`Used`, data: name, value, citations;
an accumulator's value is marked as the one before this claim), the reason and the clause
it cites. Each accumulator gets an `Accrual`: its value before the claim, what the claim
adds (its `adds` formula, value and the values that used), after, and its year. The
explanation names the policy that decided (`policy`: its provenance, as in the decision
record). Text is `explain.render`'s work (`render_text` for a decision, `render_step` for
one step), so tools compare explanations as data.
"""

from __future__ import annotations

import re

import attrs

from policydsl.syntax import nodes as n
from policydsl.syntax import printer
from policydsl.check import types as t
from policydsl.runtime import trace, values


@attrs.frozen
class Used:
    """A value a step used: an input path, a parameter, or another rule."""

    name: str
    value: str
    citations: tuple[str, ...] = ()
    in_force: str | None = None  # for a dated value: the period it is in force
    before_claim: bool = False  # an accumulator: its value before this claim


@attrs.frozen
class Detail:
    """A line under a step: a table row, a tier slice or a list element, with its reason."""

    kind: str  # lookup | tiers | tier-slice | element | branch | let | function
    text: str
    reasons: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    reason_codes: tuple[str, ...] = ()
    in_force: str | None = None
    # a tier slice's numbers for `explain --json` (money and ratio as JSON text):
    # {"band": name or index, "from", "to", "amount", "rate", "paid"}; None for other lines
    numbers: dict | None = None


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
class Accrual:
    """An accumulator around this claim: `before` + `added` = `after`, in its year
    (`period`, `2025-01-01/2025-12-31`). `adds`: the formula of what a claim adds (None
    when the accumulator has no `adds`), `uses` the values it read; reasons and citations
    are the accumulator's."""

    name: str
    period: str
    before: str
    added: str
    after: str
    adds: str | None
    uses: tuple[Used, ...]
    reasons: tuple[str, ...]
    citations: tuple[str, ...]
    reason_codes: tuple[str, ...]
    location: str
    owner: str = ""  # whose balance, when the policy keys accumulators by several fields: `account_owner_id = father`


@attrs.frozen
class Explanation:
    """`title` and `version` of the policy; `policy`: which policy decided (its provenance
    as the decision record carries it: id, version, effective, digest), None without one."""

    title: str
    version: str | None
    lang: str
    period: str | None  # the dates whose values applied, when the policy has dated values
    outputs: tuple[tuple[str, str], ...]
    steps: tuple[Step, ...]
    accumulators: tuple[Accrual, ...] = ()
    policy: dict | None = None

    def to_dict(self) -> dict:
        """JSON data: `policy` (the provenance object) first, then the rest."""
        data = attrs.asdict(self, recurse=True, filter=lambda field, value: not (field.name == "owner" and value == ""))
        return {"policy": data.pop("policy"), **data}


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")").strip()


# The words of an explanation. The builder uses those of conditions and details (`when`,
# `otherwise`, `over` ... `to`); the rest are `explain.render`'s.
LABELS = {
    "en": {
        "decision": "Decision for claim {claim}",
        "decision_anonymous": "Decision",
        "policy": "Policy",
        "decided_by": "Decided by",
        "version": "version",
        "accumulators": "Accumulators (before this claim + what it adds = after):",
        "before_claim": "before this claim",
        "nothing_added": "nothing is added",
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
        "decided_by": "作出结算的政策",
        "version": "版本",
        "accumulators": "累计值（本次理赔前 + 本次增加 = 本次理赔后）：",
        "before_claim": "本次理赔前",
        "nothing_added": "本次不增加",
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


_PERIOD_WORDS = {"zh": ((" to ", " 至 "), ("further notice", "另行通知"), ("the beginning", "起始"))}


def _period_text(text: str, lang: str) -> str:
    """A segment's days ("2025-01-01 to further notice") in the explanation's language."""
    for english, local in _PERIOD_WORDS.get(lang, ()):
        text = text.replace(english, local)
    return text


def _period(validity) -> str | None:
    return validity.describe() if validity is not None else None


class _Builder:
    def __init__(self, policy, inputs: tuple, segment: int, lang: str):
        self.policy = policy
        self.env = policy.env
        self.inputs = inputs
        self.program = policy.program
        self.segment = self.program.segments[segment]
        self.segment_index = segment
        self.lang = lang
        self.labels = LABELS[lang]
        self.cache = policy.explain_cache  # per-policy: what each expression reads, printed formulas
        if "node_id" not in self.cache:
            self.cache["node_id"] = {n.key(node): nid for nid, node in self.program.traced_nodes.items()}
        self.node_id = self.cache["node_id"]
        self.rule_values: dict[str, object] = {}
        self.accumulators = policy.accumulators  # ir.nodes.Accumulator, in slot order
        self.accumulator_names = frozenset(a.name for a in self.accumulators)

    def period(self, validity) -> str | None:
        """A dated value's days in the explanation's language, or None."""
        text = _period(validity)
        return _period_text(text, self.lang) if text is not None else None

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
        key = ("uses", n.key(body))
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
                found.append(Used(name, values.to_text(value, type_, self.lang)))
            elif kind == "input":
                value = self.input_value(name)
                if not isinstance(value, tuple):
                    found.append(Used(name, values.to_text(value, extra, self.lang), before_claim=name in self.accumulator_names))
            elif kind == "param":
                definition = self.segment.active[name]
                found.append(Used(name, self.constant_text(name), self.texts(definition.annotations, "cite"), self.period(definition.validity)))
            elif name in self.rule_values:
                found.append(Used(name, values.to_text(self.rule_values[name], self.env.def_types[name], self.lang)))
        return tuple(found)

    def use_specs(self, body) -> list[tuple]:
        """What an expression reads: input paths, inputs, parameters and rules, each once, in order."""
        specs: dict[str, tuple] = {}

        def visit(expr, loop_vars: frozenset):
            match expr:
                case n.Attr() if self.env.resolved.get(n.key(expr)) is None:
                    chain = self.attr_chain(expr)
                    if chain is not None and chain[0] not in loop_vars and chain[1] is not None:
                        text = _one_line(expr.span.text)
                        specs.setdefault(text, ("path", text, (chain[0], chain[1], self.env.types.get(n.key(expr)))))
                        return
                case n.Name(id=name) if name not in loop_vars:
                    symbol = self.env.resolved.get(n.key(expr))
                    if symbol is not None and symbol.kind in ("input", "param", "rule"):
                        specs.setdefault(name, (symbol.kind, name, self.env.types.get(n.key(expr))))
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
            if n.key(expr) not in self.env.field_index:
                return None
            fields.append(self.env.field_index[n.key(expr)])
            expr = expr.obj
        if isinstance(expr, n.Name) and self.env.resolved.get(n.key(expr)) is not None and self.env.resolved[n.key(expr)].kind == "input":
            return expr.id, list(reversed(fields))
        if isinstance(expr, n.Name):
            return expr.id, None
        return None

    def constant_text(self, name: str) -> str:
        value = self.segment.constants[name]
        type_ = self.env.def_types.get(name)
        if isinstance(type_, t.SetType):
            return "{" + ", ".join(sorted(map(str, value))) + "}"
        return values.to_text(value, type_, self.lang)

    # ---- events --------------------------------------------------------------
    def details(self, rule: str, body, events: list) -> tuple[tuple[Detail, ...], int | None]:
        """Turn a rule's events into detail lines; also return the top-level branch taken."""
        top_branch = None
        details: list[Detail] = []
        pending: list = []
        top_id = self.node_id.get(n.key(body)) if isinstance(body, n.Conditional) else None
        for event in events:
            if type(event) is trace.Branch and event.node == top_id:
                top_branch = event.index
            elif type(event) is trace.Bound:
                continue  # a `let`'s value: its own line (`let_details`)
            elif type(event) is trace.Element:
                details.append(self.element_detail(event, pending))
                pending = []
            else:
                pending.append(event)
        for event in pending:
            details.extend(self.event_detail(event))
        return tuple(details), top_branch

    def event_detail(self, event: trace.Event) -> list[Detail]:
        node = self.program.traced_nodes[event.node]
        if type(event) is trace.Lookup:
            key, value = event.key, event.value
            table = self.env.symbols[node.obj.id].node
            rows = self.segment.rows[table.name]
            row = next((r for r in rows if r.key == key), None) or next((r for r in rows if r.key is None), None)
            row_annotations = row.annotations if row is not None else ()
            value_type = self.env.types.get(n.key(node))
            return [
                Detail(
                    "lookup",
                    f"{table.name}[{key}] = {values.to_text(value, value_type, self.lang)}",
                    self.texts(row_annotations, "because"),
                    self.texts(table.annotations, "cite") + self.texts(row_annotations, "cite"),
                    self.texts(row_annotations, "reason"),
                    self.period(row.validity) if row is not None else None,
                )
            ]
        if type(event) is trace.Tiers:
            lower, upper, slices = event.lower, event.upper, event.slices
            schedule = self.segment.active[node.schedule]
            labels = self.labels
            lines = [
                Detail(
                    "tiers",
                    f"{schedule.name}{'' if getattr(node, 'band', None) is None else f' (band {node.band})'} {labels['over']} {values.money(lower)} {labels['to']} {values.money(upper)}"
                    + ("" if slices else f": {labels['no_tier']}"),
                    self.texts(schedule.annotations, "because"),
                    self.texts(schedule.annotations, "cite"),
                    self.texts(schedule.annotations, "reason"),
                    self.period(schedule.validity),
                )
            ]
            for part in slices:
                band = schedule.bands[part.band]
                low, high = part.low, part.high
                numbers = {
                    "band": band.name if band.name is not None else part.band,
                    "from": values.money(low),
                    "to": values.money(high),
                    "amount": values.money(high - low),
                    "rate": values.to_json(part.rate, t.RATIO),
                    "paid": values.money(part.paid),
                }
                lines.append(
                    Detail(
                        "tier-slice",
                        f"{values.money(low)} {labels['to']} {values.money(high)}: {values.money(high - low)} x {values.percent(part.rate)} = {values.money(part.paid)}",
                        self.texts(band.annotations, "because"),
                        self.texts(band.annotations, "cite"),
                        numbers=numbers,
                    )
                )
            return lines
        if type(event) is trace.Branch:
            branch = node.branches[event.index]
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

    def element_detail(self, element_event: trace.Element, events: list) -> Detail:
        """The line of a list element, with the reasons of the branches its value took (`events`)."""
        aggregate = self.program.traced_nodes[element_event.node]
        index, value = element_event.index, element_event.value
        source_type = self.env.types.get(n.key(aggregate.source))
        source_text = _one_line(aggregate.source.span.text)
        element = self.element_value(aggregate, index)
        described = self.describe_record(element, source_type.element if isinstance(source_type, t.ListType) else None)
        reasons: tuple[str, ...] = ()
        citations: tuple[str, ...] = ()
        codes: tuple[str, ...] = ()
        looked_up: list[str] = []  # table rows read for this element (`share[i.kind]` inside the sum)
        for event in events:
            if type(event) is trace.Branch:
                branch = self.program.traced_nodes[event.node].branches[event.index]
                reasons += self.texts(branch.annotations, "because")
                citations += self.texts(branch.annotations, "cite")
                codes += self.texts(branch.annotations, "reason")
            elif type(event) is trace.Lookup:
                for detail in self.event_detail(event):
                    looked_up.append(detail.text)
                    reasons += detail.reasons
                    citations += detail.citations
                    codes += detail.reason_codes
        value_type = self.env.types.get(n.key(aggregate.body)) if aggregate.body is not None else t.INT
        using = f" ({self.labels['using']} {', '.join(looked_up)})" if looked_up else ""
        return Detail("element", f"{source_text}[{index}] {described}: {values.to_text(value, value_type, self.lang)}{using}", reasons, citations, codes)

    def element_value(self, aggregate: n.Aggregate, index: int):
        source = aggregate.source
        chain = self.attr_chain(source) if isinstance(source, n.Attr) else None
        if isinstance(source, n.Name) and self.env.resolved.get(n.key(source)) and self.env.resolved[n.key(source)].kind == "input":
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
            f"{field.name}={values.to_text(value, self.env.field_types[(record.name, field.name)], self.lang)}"
            for field, value in zip(record.fields, element)
        ]
        return "(" + ", ".join(parts) + ")"

    def branch_text(self, branch: n.Branch) -> str:
        if branch.condition is None:
            return self.labels["otherwise"]
        return f"{self.labels['when']} {self.printed(branch.condition)}"

    def printed(self, expr) -> str:
        key = ("printed", n.key(expr))
        if key not in self.cache:
            self.cache[key] = printer.expression(expr, brief=True)
        return self.cache[key]

    # ---- steps -----------------------------------------------------------------
    def build(self, outputs: dict, steps: list[trace.Step], carried: dict | None = None) -> Explanation:
        output_names = set(self.policy.output_names)
        needed = self.env.used | output_names
        own = self.env.source.name
        built = []
        for traced in steps:
            value, events = traced.value, traced.events
            name = self.program.rule_names[traced.rule]
            rule: n.RuleDef = self.segment.active[name]
            self.rule_values[name] = value
            if name not in needed and rule.span.source.name != own:
                continue  # inherited, and left unused by this policy's overrides (W238): it decides nothing here
            lets, body = _lets_of(rule.body)
            details, branch_index = self.details(name, body, events)
            reasons = self.texts(rule.annotations, "because")
            citations = self.texts(rule.annotations, "cite")
            codes = self.texts(rule.annotations, "reason")
            condition = None
            formula_node = body
            if isinstance(body, n.Conditional) and branch_index is not None:
                branch = body.branches[branch_index]
                condition = self.branch_text(branch)
                formula_node = branch.value
                reasons += self.texts(branch.annotations, "because")
                citations += self.texts(branch.annotations, "cite")
                codes += self.texts(branch.annotations, "reason")
                # What decided the branch (its condition, or every earlier one), then what computed the value.
                deciding = (branch.condition,) if branch.condition is not None else tuple(b.condition for b in body.branches[:branch_index])
                uses = ()
                for part in (*deciding, branch.value):
                    uses += tuple(u for u in self.uses(part) if u not in uses)
            else:
                uses = self.uses(body)
            if lets:  # what each `let` read, then the names they gave, before what the formula read
                bound = self.bound_values(events)
                named = ()
                for let in lets:
                    named += tuple(u for u in self.uses(let.value) if u not in named)
                for let in lets:
                    nid = self.node_id.get(n.key(let))
                    if nid in bound:
                        named += (Used(let.name, values.to_text(bound[nid], self.env.types.get(n.key(let.value)), self.lang)),)
                uses = named + tuple(u for u in uses if u not in named)
                details = tuple(self.let_details(lets, bound)) + details
            details += tuple(self.function_details((*(let.value for let in lets), *((branch.condition,) if condition and branch.condition is not None else ()), formula_node)))
            built.append(
                Step(
                    name=name,
                    value=values.to_text(value, self.env.def_types[name], self.lang),
                    is_output=name in output_names,
                    formula=self.printed(formula_node),
                    condition=condition,
                    reasons=reasons,
                    citations=tuple(dict.fromkeys(citations)),
                    reason_codes=codes or (self.default_code(name, rule.body, branch_index),),
                    uses=uses,
                    details=details,
                    location=rule.span.location,
                    in_force=self.period(rule.validity),
                )
            )
        shown_outputs = tuple(
            (name, values.to_text(outputs[name], ty, self.lang)) for name, ty in zip(self.policy.output_names, self.policy.output_types)
        )
        period = _period_text(self.segment.describe(), self.lang) if len(self.program.segments) > 1 else None
        return Explanation(
            self.policy.title or self.policy.name,
            self.policy.version,
            self.lang,
            period,
            shown_outputs,
            tuple(built),
            self.accruals(carried),
            self.policy.provenance.to_json(),
        )

    # ---- accumulators ----------------------------------------------------------
    def accruals(self, carried: dict | None) -> tuple[Accrual, ...]:
        """Each accumulator before and after the claim, and what the claim added."""
        if not self.accumulators:
            return ()
        if carried is None:
            carried = self.carried()
        found = []
        shared = len({a.per for a in self.accumulators}) > 1  # a balance keyed by its owner: say whose
        for accumulator in self.accumulators:
            held = carried[accumulator.name]
            definition = accumulator.ast
            adds = definition.adds
            type_ = accumulator.type
            key = self.inputs[accumulator.per_index]
            found.append(
                Accrual(
                    name=accumulator.name,
                    period=held.period,
                    before=values.to_text(held.before, type_, self.lang),
                    added=values.to_text(held.after - held.before, type_, self.lang),
                    after=values.to_text(held.after, type_, self.lang),
                    adds=self.printed(adds) if adds is not None else None,
                    uses=self.uses(adds) if adds is not None else (),
                    reasons=self.texts(definition.annotations, "because"),
                    citations=self.texts(definition.annotations, "cite"),
                    reason_codes=self.texts(definition.annotations, "reason"),
                    location=definition.span.location,
                    owner=f"{accumulator.per} = {key if key != '' else '(none)'}" if shared else "",
                )
            )
        return tuple(found)

    def carried(self) -> dict:
        """name -> `Carried` as `Policy.evaluate` gives them (`Decision.accumulators`), for a
        caller that has only the claim's inputs: the program's run gives what each adds."""
        raw = self.program.runs[self.segment_index](self.inputs)
        return self.policy.carried(self.inputs, raw[len(self.policy.output_names):])

    def function_details(self, parts):
        """A line per function the formula calls (and the functions those call): its
        definition, with its reasons and citations."""
        seen: list[str] = []
        stack = [p for p in reversed(parts) if p is not None]
        while stack:
            e = stack.pop()
            if isinstance(e, n.Call) and e.func not in seen and getattr(self.env.symbols.get(e.func), "kind", None) == "function":
                seen.append(e.func)
                stack.append(self.env.symbols[e.func].node.body)
            stack.extend(reversed(n.children(e)))
        for name in seen:
            function = self.env.symbols[name].node
            params = ", ".join(p.name for p in function.params)
            yield Detail(
                "function",
                f"{name}({params}) = {self.printed(function.body)}",
                self.texts(function.annotations, "because"),
                self.texts(function.annotations, "cite"),
                self.texts(function.annotations, "reason"),
            )

    def bound_values(self, events) -> dict:
        """`let` node id -> the value it named, from a rule's `Bound` events."""
        return {event.node: event.value for event in events if type(event) is trace.Bound}

    def let_details(self, lets, bound: dict):
        """A line per `let`: its name, formula and value."""
        for let in lets:
            nid = self.node_id.get(n.key(let))
            if nid in bound:
                value = values.to_text(bound[nid], self.env.types.get(n.key(let.value)), self.lang)
                yield Detail("let", f"let {let.name} = {self.printed(let.value)} = {value}")

    @staticmethod
    def default_code(name: str, body, branch_index: int | None) -> str:
        """A rule without `reason CODE` gets `rule` or `rule.when1` / `rule.otherwise`."""
        body = _lets_of(body)[1]
        if isinstance(body, n.Conditional) and branch_index is not None:
            last = len(body.branches) - 1
            return f"{name}.otherwise" if branch_index == last else f"{name}.when{branch_index + 1}"
        return name


def _lets_of(body) -> tuple[tuple, object]:
    """(the `let`s at the head of a rule's body, outermost first; the body inside them)."""
    lets = []
    while isinstance(body, n.Let):
        lets.append(body)
        body = body.body
    return tuple(lets), body


def build_explanation(
    policy, inputs: tuple, outputs: dict, steps: list[trace.Step], segment: int = 0, lang: str = "en", carried: dict | None = None
) -> Explanation:
    """The explanation of a traced run (`Policy.run_traced`: its outputs and steps).
    `carried`: the decision's accumulators (`Decision.accumulators`); when not given, they
    are computed again from the claim's inputs."""
    return _Builder(policy, inputs, segment, lang).build(outputs, steps, carried)


def render_text(explanation: Explanation, claim_id: str | int | None = None, lang: str | None = None) -> str:
    """The readable explanation: see `explain.render.render_text` (kept here for its callers)."""
    from policydsl.explain import render

    return render.render_text(explanation, claim_id, lang)
