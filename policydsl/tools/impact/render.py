"""The impact report as text (a terminal) and as Markdown (a pull request): one `Impact` in,
one string out. Numbers group thousands (`1,234,567.50`); money is in yuan."""

from __future__ import annotations

from policydsl.tools.impact.report import count, edge, money, signed
from policydsl.tools.impact.versions import title, which

BAR = 30
GROUPS_SHOWN = 50  # groups of a breakdown shown in text and Markdown (JSON and HTML have all)


def flows_line(impact) -> str:
    flows = impact.flows
    fund = ", ".join(flows.fund) or "none"
    text = f"{fund} paid by the funds"
    if flows.patient:
        text += f"; {', '.join(flows.patient)} by the patient"
    if flows.source == "declared":
        text += f" (declared at {flows.where})"
    elif flows.source == "--layers":
        text += " (--layers)"
    else:
        text += " (inferred: the policy declares no `flows`)"
    return text


def claims_line(impact) -> str:
    total = impact.tally.total
    text = f"{count(total.claims)} claim{'s' if total.claims != 1 else ''}"
    if total.decided != total.claims:
        text += f", {count(total.decided)} decided under both versions"
    if impact.run.carried_per is not None:
        groups = "groups of claims sharing a key" if "," in impact.run.carried_per else "persons"
        text += f"; person-years carried per {impact.run.carried_per} ({count(impact.run.persons)} {groups})"
    return text


def _limit_label(row) -> str:
    limit = row.limit
    label = f"{limit.kind} {limit.text}"
    if limit.rule != limit.flow:
        label += f" (in {limit.rule})"
    if row.sides != "both":
        label += f" [only {row.sides}]"
    return label


def _headline(impact) -> list[str]:
    tally = impact.tally
    total = tally.total
    before, after = tally.funds()
    patient_before, patient_after = tally.patient()
    lines = [f"Payments changed: {count(total.payments_changed)} of {count(total.decided)} claims"]
    lines.append(f"  fund's cost of the change: {signed(after - before)} yuan ({' + '.join(impact.flows.fund) or 'no fund flows'})")
    if impact.flows.patient:
        lines.append(f"  what the patients pay:     {signed(patient_after - patient_before)} yuan ({' + '.join(impact.flows.patient)})")
    only_info = total.changed - total.payments_changed
    lines.append(f"  any output changed: {count(total.changed)} claims ({count(only_info)} in informational outputs only)")
    return lines


def _table(header: list[str], rows: list[list[str]], right: set[int], indent: str = "  ") -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    out = []
    for row in [header, *rows]:
        cells = [f"{cell:>{w}}" if i in right else f"{cell:<{w}}" for i, (cell, w) in enumerate(zip(row, widths))]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


# ---- text -----------------------------------------------------------------------------------


def flow_table(impact) -> list[tuple[str, list[str]]]:
    """The money-flow table every format shows: (kind, cells) rows in order, kind "flow", "part"
    (a part of the flow above it) or "total" (the funds, after the last fund flow); cells are
    flow, paid by, claims changed, before, after, difference, newly paid, no longer paid."""
    tally = impact.tally
    total = tally.total
    funds_before, funds_after = tally.funds()
    last_fund = impact.flows.fund[-1] if impact.flows.fund else None
    rows = []
    for name, payer, changed, before, after, entered, left in impact.flow_rows():
        rows.append(("flow", [name, payer, count(changed), money(before), money(after), signed(after - before), count(entered), count(left)]))
        for part, _, b, a in (row for row in tally.part_rows() if row[1] == name):
            rows.append(("part", [part, "", count(tally.changed_per_output[part]), money(b), money(a), signed(a - b), "", ""]))
        if name == last_fund:
            rows.append(("total", ["funds", "", count(total.payments_changed), money(funds_before), money(funds_after), signed(funds_after - funds_before), "", ""]))
    return rows


def text(impact) -> str:  # noqa: C901 - the report's sections in order
    tally = impact.tally
    total = tally.total
    out: list[str] = []
    add = out.append
    add(f"Impact of {impact.new_label}")
    add(f"  against {impact.old_label}")
    add(f"  old: {title(impact.old_policy)}")
    add(f"       {which(impact.old_policy)}")
    add(f"  new: {title(impact.new_policy)}")
    add(f"       {which(impact.new_policy)}")
    add(f"  claims: {impact.claims_label} ({claims_line(impact)})")
    add(f"  flows: {flows_line(impact)}")
    for warning in impact.warnings():
        add(f"  warning: {warning}")
    for note in impact.notes:
        add(f"  note: {note}")
    add("")
    out += _headline(impact)
    add("")
    add(f"Money flows over {count(total.decided)} claims (yuan)")
    rows = [[f"  {cells[0]} (part)" if kind == "part" else cells[0], *cells[1:6]] for kind, cells in flow_table(impact)]
    out += _table(["flow", "paid by", "claims changed", "before", "after", "difference"], rows, {2, 3, 4, 5})
    add("")
    add("Claims entering or leaving a flow")
    out += _table(["flow", "newly paid", "no longer paid"], [[name, count(entered), count(left)] for name, _, _, _, _, entered, left in impact.flow_rows()], {1, 2})
    if impact.limits:
        add("")
        add(f"Caps and thresholds, over the {count(tally.limit_claims)} claims whose outputs changed")
        out += _table(["flow", "cap or threshold", "newly reached", "no longer"], [[row.limit.flow, _limit_label(row), count(row.newly), count(row.no_longer)] for row in impact.limits], {2, 3})
        add("  (a cap is reached when the value capped is above it; a threshold when the amount is above it)")
    add("")
    add("Informational outputs (not money flows: never summed)")
    changed_info = [name for name in tally.informational() if tally.changed_per_output[name]]
    if changed_info:
        rows = [[name + _part_note(tally, name), count(tally.changed_per_output[name]), changes_text(tally, name)] for name in changed_info]
        out += _table(["output", "claims changed", "most common changes"], rows, {1})
    unchanged = [name for name in tally.informational() if not tally.changed_per_output[name]]
    if unchanged:
        add(f"  unchanged: {', '.join(unchanged)}")
    for grouping, groups in impact.breakdowns():
        add("")
        add(f"By {', '.join(grouping.names)} (yuan)")
        header = [", ".join(grouping.names), "claims", "payments changed", *[f"{f} difference" for f in tally.flow_names], "funds before", "funds after", "funds difference"]
        rows = []
        for key, counts in groups[:GROUPS_SHOWN]:
            funds_before, funds_after = tally.funds(counts)
            differences = [signed(after - before) for _, _, _, before, after, _, _ in impact.flow_rows(counts)]
            rows.append([", ".join(key), count(counts.claims), count(counts.payments_changed), *differences, money(funds_before), money(funds_after), signed(funds_after - funds_before)])
        out += _table(header, rows, set(range(1, len(header))))
        if len(groups) > GROUPS_SHOWN:
            add(f"  ... and {count(len(groups) - GROUPS_SHOWN)} more groups (all of them in --json and --html)")
    add("")
    out += _distribution_text(tally)
    if impact.changes:
        add("")
        add(f"What changed in the policy text ({len(impact.changes)} definition{'s' if len(impact.changes) != 1 else ''})")
        for change in impact.changes:
            add("")
            add(f"  {change.status} {change.label}")
            if change.old_where:
                add(f"    old: {change.old_where}")
            if change.new_where:
                add(f"    new: {change.new_where}")
            for line in change.lines():
                add(f"    {line}")
    if impact.top_claims:
        add("")
        add(f"Claims that changed most ({len(impact.top_claims)} of {count(total.changed)})")
        for rank, top in enumerate(impact.top_claims, start=1):
            add("")
            add(f"{rank}. {top.label}: funds {signed(top.delta)}")
            for name in top.changed:
                add(f"   {name}: {_shown(top.before[name])} -> {_shown(top.after[name])}")
            for line in top.explanation:
                add(f"     {line}")
    if tally.undecided_count:
        add("")
        add(f"Claims not decided under both versions ({count(tally.undecided_count)})")
        for pair in tally.undecided:
            add(f"  {pair.claim.label}:")
            add(f"    old: {pair.old if isinstance(pair.old, str) else 'decided'}")
            add(f"    new: {pair.new if isinstance(pair.new, str) else 'decided'}")
        if tally.undecided_count > len(tally.undecided):
            add(f"  ... and {count(tally.undecided_count - len(tally.undecided))} more")
    if impact.export is not None:
        add("")
        add(f"Wrote {count(impact.export['claims'])} changed claims to {impact.export['path']}")
    return "\n".join(out) + "\n"


def _part_note(tally, name: str) -> str:
    whole = next((w for p, w in tally.parts if p == name), None)
    return f" (part of {whole})" if whole else ""


def changes_text(tally, name: str, arrow: str = "->", escape=lambda text: text) -> str:
    """An informational output's most common changes: `11,000.00 -> 10,000.00 (1,650); ...`,
    or, when no two claims changed alike, how many changes there were and one of them."""
    changes = tally.common_changes(name)
    changed = tally.changed_per_output[name]
    if not changes:
        return ""
    if changes[0][2] == 1 and changed > 1:
        a, b, _ = changes[0]
        return f"{count(changed)} different changes, e.g. {escape(_shown(a))} {arrow} {escape(_shown(b))}"
    text = "; ".join(f"{escape(_shown(a))} {arrow} {escape(_shown(b))} ({count(n)})" for a, b, n in changes)
    rest = changed - sum(n for _, _, n in changes)
    return text + (f"; {count(rest)} other" if rest else "")


def _shown(value: str) -> str:
    """An output value with thousands grouped when it is money."""
    from policydsl.tools.impact.report import grouped

    return grouped(value)


def _distribution_text(tally) -> list[str]:
    distribution = tally.distribution()
    if distribution is None:
        return ["Per-claim change of the funds' payment: no claim's payment changed"]
    lines = [f"Per-claim change of the funds' payment, over the {count(distribution['claims'])} claims where it changed (yuan)"]
    for key in ("min", "q1", "median", "q3", "max"):
        lines.append(f"  {key:<7} {signed(distribution[key]):>14}")
    lines.append("  (quartiles by nearest rank: each is one claim's change)")
    lines += ["", *histogram_lines(distribution["histogram"])]
    return lines


def histogram_lines(bins, indent: str = "  ") -> list[str]:
    labels = [f"{edge(a)} to {edge(b)}" for a, b, _ in bins]
    width = max(len(label) for label in labels)
    most = max(c for *_, c in bins)
    lines = []
    for label, (_, _, n) in zip(labels, bins):
        bar = "#" * (max(1, round(n * BAR / most)) if n else 0)
        lines.append(f"{indent}{label:>{width}}  {bar:<{BAR}}  {count(n)}")
    return lines


# ---- Markdown ---------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text from a policy or a claim in a Markdown table cell or line: no HTML, no table breaks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _md_row(cells: list[str]) -> str:
    return "|" + "".join(f" {cell} |" if cell else " |" for cell in cells)


def markdown(impact) -> str:  # noqa: C901 - the report's sections in order
    tally = impact.tally
    total = tally.total
    out: list[str] = []
    add = out.append
    before, after = tally.funds()
    patient_before, patient_after = tally.patient()
    add(f"### Impact of {_code(impact.new_label)}")
    add("")
    add(f"Against {_code(impact.old_label)}, on {_code(impact.claims_label)} ({_md(claims_line(impact))}).")
    add("")
    add(f"- old: {_md(title(impact.old_policy))}, {_md(which(impact.old_policy))}")
    add(f"- new: {_md(title(impact.new_policy))}, {_md(which(impact.new_policy))}")
    add(f"- flows: {_md(flows_line(impact))}")
    for warning in impact.warnings():
        add(f"- **warning: {_md(warning)}**")
    for note in impact.notes:
        add(f"- note: {_md(note)}")
    add(f"- **payments changed: {count(total.payments_changed)} of {count(total.decided)} claims**")
    add(f"- **fund's cost of the change: {signed(after - before)} yuan** ({' + '.join(impact.flows.fund) or 'no fund flows'})")
    if impact.flows.patient:
        add(f"- what the patients pay: {signed(patient_after - patient_before)} yuan ({' + '.join(impact.flows.patient)})")
    add(f"- any output changed: {count(total.changed)} claims ({count(total.changed - total.payments_changed)} in informational outputs only)")
    add("")
    add("#### Money flows (yuan)")
    add("")
    add("| flow | paid by | claims changed | before | after | difference | newly paid | no longer paid |")
    add("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind, (name, *cells) in flow_table(impact):
        if kind == "part":
            add(_md_row([f"↳ {_code(name)} (part)", *cells]))
        elif kind == "total":
            add(_md_row([f"**{name}**", *(f"**{x}**" if x else "" for x in cells)]))
        else:
            add(_md_row([_code(name), *cells]))
    if impact.limits:
        add("")
        add(f"#### Caps and thresholds (over the {count(tally.limit_claims)} claims whose outputs changed)")
        add("")
        add("| flow | cap or threshold | where | newly reached | no longer |")
        add("|---|---|---|---:|---:|")
        for row in impact.limits:
            add(f"| {_code(row.limit.flow)} | {_md(_limit_label(row))} | {_md(row.limit.where)} | {count(row.newly)} | {count(row.no_longer)} |")
    add("")
    add("#### Informational outputs (never summed)")
    add("")
    add("| output | claims changed | most common changes |")
    add("|---|---:|---|")
    for name in tally.informational():
        add(f"| {_code(name)}{_part_note(tally, name)} | {count(tally.changed_per_output[name])} | {changes_text(tally, name, '→', _md)} |")
    for grouping, groups in impact.breakdowns():
        add("")
        add(f"#### By {', '.join(_code(name) for name in grouping.names)} (yuan)")
        add("")
        flows = tally.flow_names
        add("| " + " | ".join([_md(", ".join(grouping.names)), "claims", "payments changed", *[f"{_code(f)} before → after (difference)" for f in flows], "funds difference"]) + " |")
        add("|---|" + "---:|" * (3 + len(flows)))
        for key, counts in groups[:GROUPS_SHOWN]:
            funds_before, funds_after = tally.funds(counts)
            cells = [f"{money(b)} → {money(a)} ({signed(a - b)})" for _, _, _, b, a, _, _ in impact.flow_rows(counts)]
            add("| " + " | ".join([_md(", ".join(key)), count(counts.claims), count(counts.payments_changed), *cells, signed(funds_after - funds_before)]) + " |")
        if len(groups) > GROUPS_SHOWN:
            add("")
            add(f"… and {count(len(groups) - GROUPS_SHOWN)} more groups (all of them in `--json` and `--html`).")
    distribution = tally.distribution()
    add("")
    add("#### Per-claim change of the funds' payment")
    add("")
    if distribution is None:
        add("No claim's payment changed.")
    else:
        add(f"Over the {count(distribution['claims'])} claims where it changed; quartiles by nearest rank.")
        add("")
        add("| min | q1 | median | q3 | max |")
        add("|---:|---:|---:|---:|---:|")
        add("| " + " | ".join(signed(distribution[k]) for k in ("min", "q1", "median", "q3", "max")) + " |")
        add("")
        add("```text")
        out += histogram_lines(distribution["histogram"], indent="")
        add("```")
    if impact.changes:
        add("")
        add(f"#### What changed in the policy text ({len(impact.changes)})")
        for change in impact.changes:
            add("")
            where = " · ".join(part for part in (f"old {change.old_where}" if change.old_where else "", f"new {change.new_where}" if change.new_where else "") if part)
            add(f"**{change.status} {_md(change.label)}** ({_md(where)})")
            add("")
            add("```diff")
            out += [line.replace("```", "'''") for line in change.lines()]
            add("```")
    if impact.top_claims:
        add("")
        add(f"#### Claims that changed most ({len(impact.top_claims)} of {count(total.changed)})")
        for top in impact.top_claims:
            add("")
            outputs = ", ".join(f"{_code(n)} {_md(_shown(top.before[n]))} → {_md(_shown(top.after[n]))}" for n in top.changed)
            add(f"**{_md(top.label)}**: funds {signed(top.delta)}; {outputs}")
            if top.explanation:
                add("")
                add("```diff")
                out += [line.replace("```", "'''") for line in top.explanation]
                add("```")
    if tally.undecided_count:
        add("")
        add(f"#### Claims not decided under both versions ({count(tally.undecided_count)})")
        add("")
        for pair in tally.undecided:
            old = pair.old if isinstance(pair.old, str) else "decided"
            new = pair.new if isinstance(pair.new, str) else "decided"
            add(f"- {_code(pair.claim.label)}: old: {_md(old)}; new: {_md(new)}")
    if impact.export is not None:
        add("")
        add(f"Changed claims, each output before and after: {_code(impact.export['path'])} ({count(impact.export['claims'])} claims).")
    return "\n".join(out) + "\n"
