"""Explanation (data, from `explain.build`) -> text, in English or Chinese.

`render_text` writes a whole decision: heading (the policy, and which policy decided:
id, version, digest), outputs, the accumulators (`render_accrual`: before this claim,
what it adds, after, in their year), then every step's block. `render_step` writes one
step's block, the lines `policydsl test` shows for an output that differs and `policydsl
diff` compares, so tools take those lines from the data (`Step`, `Used`) and never parse
a rendered explanation back.
"""

from __future__ import annotations

from policydsl.explain.build import LABELS, Accrual, Explanation, Step, Used


def render_used(used: Used, lang: str = "en") -> str:
    """`name = value`, with the period it is in force and its citations when it has them;
    an accumulator's value is `name (before this claim) = value`."""
    labels = LABELS[lang]
    cited = f" [{'; '.join(used.citations)}]" if used.citations else ""
    dated = f" ({labels['in_force']} {used.in_force})" if used.in_force else ""
    before = f" ({labels['before_claim']})" if used.before_claim else ""
    return f"{used.name}{before} = {used.value}{dated}{cited}"


def render_accrual(accrual: Accrual, lang: str = "en") -> list[str]:
    """`name (year): before + added (formula) = after -- reasons [citations]`, then the
    values the formula used when it is more than one of them."""
    labels = LABELS[lang]
    start, _, end = accrual.period.partition("/")
    if accrual.adds is None:
        how = f" ({labels['nothing_added']})"
    elif accrual.adds == accrual.added:  # a constant: `adds 1`
        how = ""
    else:
        how = f" ({accrual.adds})"
    whose = f" [{accrual.owner}]" if accrual.owner else ""
    line = f"{accrual.name}{whose} ({start} {labels['to']} {end}): {accrual.before} + {accrual.added}{how} = {accrual.after}"
    if accrual.reasons:
        line += " -- " + "; ".join(accrual.reasons)
    if accrual.citations:
        line += " [" + "; ".join(dict.fromkeys(accrual.citations)) + "]"
    lines = [line]
    shown = [u for u in accrual.uses if u.name != accrual.adds]
    if shown:
        lines.append(f"  {labels['using']} " + ", ".join(render_used(u, lang) for u in shown))
    return lines


def decided_by(policy: dict) -> str:
    """Which policy decided, for people: `example/resident-2025 2025.1 (sha256:1f2e...)`
    (`Provenance.describe`, from the explanation's data)."""
    version = f" {policy['version']}" if policy.get("version") else ""
    return f"{policy['id']}{version} ({policy['digest'][:19]}...)"


def render_step(step: Step, lang: str = "en", uses: tuple[Used, ...] | None = None) -> list[str]:
    """The lines of one step: `name = value`, when it was taken, its formula, the values it
    used (`uses` in place of `step.uses` when given; none: no `using` line), its reasons,
    citations and details (table rows, tier slices, list elements)."""
    labels = LABELS[lang]
    uses = step.uses if uses is None else uses
    marker = f"  {labels['output']}" if step.is_output else ""
    lines = [f"{step.name} = {step.value}{marker}"]
    if step.in_force:
        lines.append(f"  {labels['in_force']}: {step.in_force}")
    if step.condition:
        lines.append(f"  {step.condition}")
    lines.append(f"  = {step.formula}")
    if uses:
        lines.append(f"  {labels['using']} " + ", ".join(render_used(u, lang) for u in uses))
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
    return lines


def render_text(explanation: Explanation, claim_id: str | int | None = None, lang: str | None = None) -> str:
    """The readable explanation: outputs first, then every computed value in order."""
    lang = lang or explanation.lang
    labels = LABELS[lang]
    title = explanation.title + (f" ({labels['version']} {explanation.version})" if explanation.version else "")
    heading = labels["decision"].format(claim=claim_id) if claim_id is not None else labels["decision_anonymous"]
    lines = [heading, f"{labels['policy']}: {title}"]
    if explanation.policy is not None:
        lines.append(f"{labels['decided_by']}: {decided_by(explanation.policy)}")
    if explanation.period:
        lines.append(f"{labels['period']}: {explanation.period}")
    lines.append("")
    width = max((len(name) for name, _ in explanation.outputs), default=0)
    for name, value in explanation.outputs:
        lines.append(f"  {name.ljust(width)}  {value}")
    if explanation.accumulators:
        lines += ["", labels["accumulators"]]
        for accrual in explanation.accumulators:
            lines += [f"  {line}" for line in render_accrual(accrual, lang)]
    lines += ["", labels["how"]]
    for step in explanation.steps:
        lines.append("")
        lines += render_step(step, lang)
    return "\n".join(lines) + "\n"


__all__ = ["decided_by", "render_accrual", "render_step", "render_text", "render_used"]
