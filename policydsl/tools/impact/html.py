"""`diff --html FILE`: the impact report as one self-contained page.

The page loads nothing: no scripts, fonts, images or style sheets from anywhere (its Content
Security Policy says so to the browser: `default-src 'none'`, inline styles only). Charts are
inline SVG: each layer before and after, the distribution of the per-claim change of the
funds' payment, and the fund's cost by group for each `--by`. Every text that comes from a
policy or a claim is escaped (a claim_id `<script>` shows as text). Numbers group thousands.

Elements a reader (or a test) can find: `#summary` with `#payments-changed`, `#funds-cost`,
`#patients-pay` and `#outputs-changed` (each a `.value`); `#flows` (a table, and the SVG
`#chart-flows`); `#entering`; `#limits`; `#informational`; `#distribution` (`#chart-distribution`);
`#by-N` for each breakdown (`#chart-by-N`); `#policy-changes`; `#most-changed`; `#undecided`.
"""

from __future__ import annotations

from html import escape

from policydsl.tools.impact.render import GROUPS_SHOWN, _limit_label, flow_table, _part_note, changes_text, claims_line, flows_line
from policydsl.tools.impact.report import count, edge, grouped, money, signed
from policydsl.tools.impact.versions import title, which

WIDTH = 720
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
:root { --ink: #1d2433; --muted: #5b6475; --line: #d9dde5; --before: #9aa5b8; --after: #2f6fde; --up: #c2410c; --down: #15803d; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "PingFang SC", "Microsoft YaHei", sans-serif;
       color: var(--ink); margin: 0 auto; padding: 24px 32px 48px; max-width: 1180px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 6px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; }
.muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 200px; }
.card .label { display: block; color: var(--muted); font-size: 13px; }
.card .value { display: block; font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .of { color: var(--muted); font-size: 13px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.warning { background: #fff4e5; border-left: 4px solid #f59e0b; padding: 6px 10px; margin: 6px 0; }
.note { background: #eef4ff; border-left: 4px solid var(--after); padding: 6px 10px; margin: 6px 0; }
table { border-collapse: collapse; margin: 8px 0 12px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { font-weight: 600; background: #f6f7f9; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.where { white-space: nowrap; color: var(--muted); font-size: 13px; }
tr.total td { font-weight: 600; }
tr.part td:first-child { padding-left: 26px; }
.scroll { overflow-x: auto; }
pre.diff { background: #f6f7f9; padding: 8px 10px; border-radius: 6px; overflow-x: auto; white-space: pre; }
pre.diff .del { color: #b42318; } pre.diff .add { color: #067647; }
details { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; }
svg { display: block; margin: 8px 0 16px; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
.legend { font-size: 13px; color: var(--muted); }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -1px; margin: 0 4px 0 12px; border-radius: 2px; }
"""


def _e(value) -> str:
    return escape(str(value), quote=True)


def _cell(value, number: bool = False) -> str:
    return f'<td class="num">{_e(value)}</td>' if number else f"<td>{_e(value)}</td>"


def _head(*names, numbers=()) -> str:
    return "<tr>" + "".join(f'<th class="num">{_e(n)}</th>' if i in numbers else f"<th>{_e(n)}</th>" for i, n in enumerate(names)) + "</tr>"


def _diff_lines(lines) -> str:
    out = []
    for line in lines:
        kind = "del" if line.startswith("-") else "add" if line.startswith("+") else ""
        out.append(f'<span class="{kind}">{_e(line)}</span>' if kind else _e(line))
    return '<pre class="diff">' + "\n".join(out) + "</pre>"


# ---- charts -----------------------------------------------------------------------------------


def _svg(chart_id: str, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg id="{chart_id}" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{_e(label)}"><title>{_e(label)}</title>' + "".join(body) + "</svg>"
    )


def _yuan(fen) -> str:
    return money(fen)


def flows_chart(impact) -> str:
    """Each flow before and after: two horizontal bars per flow, on one scale."""
    rows = impact.flow_rows()
    if not rows:
        return ""
    left, right, bar, gap = 150, 130, 14, 14
    top = 10
    most = max([max(abs(b), abs(a)) for _, _, _, b, a, _, _ in rows] + [1])
    span = WIDTH - left - right
    height = top + len(rows) * (2 * bar + gap) + 10
    body = []
    y = top
    for name, _, _, before, after, _, _ in rows:
        body.append(f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end">{_e(name)}</text>')
        for value, colour, offset, which_ in ((before, "var(--before)", 0, "before"), (after, "var(--after)", bar, "after")):
            width = max(0.0, span * abs(value) / most)
            body.append(f'<rect class="bar {which_}" x="{left}" y="{y + offset}" width="{width:.1f}" height="{bar - 2}" fill="{colour}"><title>{_e(name)} {which_}: {_e(_yuan(value))} yuan</title></rect>')
            body.append(f'<text x="{left + width + 6:.1f}" y="{y + offset + bar - 4}">{_e(_yuan(value))}</text>')
        y += 2 * bar + gap
    return _svg("chart-flows", height, "Each money flow before (grey) and after (blue), in yuan", body)


def distribution_chart(distribution) -> str:
    """The histogram of the per-claim change of the funds' payment, as vertical bars."""
    if distribution is None:
        return ""
    bins = distribution["histogram"]
    left, bottom, top = 50, 58, 16
    height = 260
    span = WIDTH - left - 20
    most = max(c for *_, c in bins) or 1
    width = span / len(bins)
    plot = height - bottom - top
    body = [f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 20}" y2="{height - bottom}" stroke="#98a2b3"/>']
    for index, (start, end, claims) in enumerate(bins):
        h = plot * claims / most
        x = left + index * width
        label = f"{edge(start)} to {edge(end)}"
        body.append(f'<rect class="bin" x="{x + 2:.1f}" y="{height - bottom - h:.1f}" width="{width - 4:.1f}" height="{h:.1f}" fill="var(--after)"><title>{_e(label)}: {_e(count(claims))} claims</title></rect>')
        body.append(f'<text x="{x + width / 2:.1f}" y="{height - bottom - h - 4:.1f}" text-anchor="middle">{_e(count(claims))}</text>')
        body.append(f'<text x="{x + width / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">{_e(edge(start))}</text>')
        body.append(f'<text x="{x + width / 2:.1f}" y="{height - bottom + 30}" text-anchor="middle" class="muted">to {_e(edge(end))}</text>')
    body.append(f'<text x="{left}" y="{height - 8}">change of the funds\' payment per claim (yuan); bars: claims</text>')
    return _svg("chart-distribution", height, "Distribution of the per-claim change of the funds' payment", body)


def groups_chart(impact, index: int, groups) -> str:
    """The fund's cost of the change by group: a bar from zero per group (right: more paid)."""
    shown = groups[:GROUPS_SHOWN]
    if not shown:
        return ""
    tally = impact.tally
    differences = [tally.funds(counts)[1] - tally.funds(counts)[0] for _, counts in shown]
    left, right, bar = 180, 120, 18
    height = 16 + len(shown) * (bar + 6) + 10
    most = max([abs(d) for d in differences] + [1])
    span = (WIDTH - left - right) / 2
    zero = left + span
    body = [f'<line x1="{zero}" y1="6" x2="{zero}" y2="{height - 6}" stroke="#98a2b3"/>']
    y = 12
    for (key, _), difference in zip(shown, differences):
        label = ", ".join(key)
        width = span * abs(difference) / most
        x = zero if difference >= 0 else zero - width
        colour = "var(--up)" if difference > 0 else "var(--down)"
        body.append(f'<text x="{left - 8}" y="{y + bar - 5}" text-anchor="end">{_e(label[:28])}</text>')
        body.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{width:.1f}" height="{bar}" fill="{colour}"><title>{_e(label)}: {_e(signed(difference))} yuan</title></rect>')
        anchor_x = zero + width + 6 if difference >= 0 else zero - width - 6
        anchor = "start" if difference >= 0 else "end"
        body.append(f'<text x="{anchor_x:.1f}" y="{y + bar - 5}" text-anchor="{anchor}">{_e(signed(difference))}</text>')
        y += bar + 6
    return _svg(f"chart-by-{index}", height, "The fund's cost of the change by group, in yuan", body)


# ---- the page ---------------------------------------------------------------------------------


def page(impact) -> str:  # noqa: C901 - the report's sections in order
    tally = impact.tally
    total = tally.total
    funds_before, funds_after = tally.funds()
    patient_before, patient_after = tally.patient()
    out: list[str] = []
    add = out.append
    add("<!DOCTYPE html>")
    add('<html lang="en"><head><meta charset="utf-8">')
    add(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">')
    add('<meta name="viewport" content="width=device-width, initial-scale=1">')
    add(f"<title>Impact of {_e(impact.new_label)}</title>")
    add(f"<style>{STYLE}</style></head><body>")
    add(f"<header><h1>Impact of <code>{_e(impact.new_label)}</code></h1>")
    add(f'<p class="muted">against <code>{_e(impact.old_label)}</code>, on <code>{_e(impact.claims_label)}</code> ({_e(claims_line(impact))})</p></header>')

    add('<section id="summary"><h2>Summary</h2><div class="cards">')
    cards = [
        ("payments-changed", "Claims whose payments changed", count(total.payments_changed), f"of {count(total.decided)} claims decided"),
        ("funds-cost", "Fund's cost of the change", f"{signed(funds_after - funds_before)}", "yuan: " + (" + ".join(impact.flows.fund) or "no fund flows")),
    ]
    if impact.flows.patient:
        cards.append(("patients-pay", "What the patients pay", signed(patient_after - patient_before), "yuan: " + " + ".join(impact.flows.patient)))
    cards.append(("outputs-changed", "Claims with any output changed", count(total.changed), f"{count(total.changed - total.payments_changed)} in informational outputs only"))
    for card_id, label, value, of in cards:
        add(f'<div class="card" id="{card_id}"><span class="label">{_e(label)}</span><span class="value">{_e(value)}</span><span class="of">{_e(of)}</span></div>')
    add("</div>")
    add('<dl class="facts">')
    add(f"<dt>old</dt><dd>{_e(title(impact.old_policy))}, <code>{_e(which(impact.old_policy))}</code></dd>")
    add(f"<dt>new</dt><dd>{_e(title(impact.new_policy))}, <code>{_e(which(impact.new_policy))}</code></dd>")
    add(f"<dt>flows</dt><dd>{_e(flows_line(impact))}</dd>")
    add("</dl>")
    for warning in impact.warnings():
        add(f'<p class="warning">warning: {_e(warning)}</p>')
    for note in impact.notes:
        add(f'<p class="note">note: {_e(note)}</p>')
    add("</section>")

    add(f'<section id="flows"><h2>Money flows over {_e(count(total.decided))} claims (yuan)</h2><div class="scroll"><table>')
    add(_head("flow", "paid by", "claims changed", "before", "after", "difference", numbers={2, 3, 4, 5}))
    for kind, (name, payer, *numbers) in flow_table(impact):
        shown = name + " (part)" if kind == "part" else name
        add(f'<tr class="{kind}">{_cell(shown)}{_cell(payer)}{"".join(_cell(x, True) for x in numbers[:4])}</tr>')
    add("</table></div>")
    add('<p class="legend">Each flow<span class="swatch" style="background:#9aa5b8"></span>before<span class="swatch" style="background:#2f6fde"></span>after</p>')
    add(flows_chart(impact))
    add("</section>")

    add('<section id="entering"><h2>Claims entering or leaving a flow</h2><table>')
    add(_head("flow", "newly paid", "no longer paid", numbers={1, 2}))
    for name, _, _, _, _, entered, left in impact.flow_rows():
        add(f"<tr>{_cell(name)}{_cell(count(entered), True)}{_cell(count(left), True)}</tr>")
    add("</table></section>")

    if impact.limits:
        add(f'<section id="limits"><h2>Caps and thresholds</h2><p class="muted">Over the {_e(count(tally.limit_claims))} claims whose outputs changed. '
            "A cap is reached when the value capped is above it; a threshold when the amount is above it.</p><div class=\"scroll\"><table>")
        add(_head("flow", "cap or threshold", "where", "newly reached", "no longer", numbers={3, 4}))
        for row in impact.limits:
            add(f'<tr>{_cell(row.limit.flow)}<td><code>{_e(_limit_label(row))}</code></td><td class="where">{_e(row.limit.where)}</td>{_cell(count(row.newly), True)}{_cell(count(row.no_longer), True)}</tr>')
        add("</table></div></section>")

    add('<section id="informational"><h2>Informational outputs</h2><p class="muted">Not money flows: counted, never summed.</p><div class="scroll"><table>')
    add(_head("output", "claims changed", "most common changes", numbers={1}))
    for name in tally.informational():
        add(f"<tr>{_cell(name + _part_note(tally, name))}{_cell(count(tally.changed_per_output[name]), True)}{_cell(changes_text(tally, name, '→'))}</tr>")
    add("</table></div></section>")

    distribution = tally.distribution()
    add('<section id="distribution"><h2>Per-claim change of the funds\' payment</h2>')
    if distribution is None:
        add("<p>No claim's payment changed.</p>")
    else:
        add(f'<p class="muted">Over the {_e(count(distribution["claims"]))} claims where it changed; quartiles by nearest rank (each is one claim\'s change).</p><table>')
        add(_head("min", "q1", "median", "q3", "max", numbers={0, 1, 2, 3, 4}))
        add("<tr>" + "".join(_cell(signed(distribution[k]), True) for k in ("min", "q1", "median", "q3", "max")) + "</tr></table>")
        add(distribution_chart(distribution))
    add("</section>")

    for index, (grouping, groups) in enumerate(impact.breakdowns()):
        names = ", ".join(grouping.names)
        add(f'<section id="by-{index}" class="breakdown"><h2>By <code>{_e(names)}</code> (yuan)</h2><div class="scroll"><table>')
        flows = tally.flow_names
        header = [names, "claims", "payments changed"]
        for flow in flows:
            header += [f"{flow} before", f"{flow} after", f"{flow} difference"]
        header += ["funds difference"]
        add(_head(*header, numbers=set(range(1, len(header)))))
        for key, counts in groups:
            b, a = tally.funds(counts)
            cells = [_cell(", ".join(key)), _cell(count(counts.claims), True), _cell(count(counts.payments_changed), True)]
            for _, _, _, fb, fa, _, _ in impact.flow_rows(counts):
                cells += [_cell(money(fb), True), _cell(money(fa), True), _cell(signed(fa - fb), True)]
            cells.append(_cell(signed(a - b), True))
            add('<tr class="group">' + "".join(cells) + "</tr>")
        add("</table></div>")
        add("<h3>The fund's cost of the change by group</h3>")
        add(groups_chart(impact, index, groups))
        if len(groups) > GROUPS_SHOWN:
            add(f'<p class="muted">The chart shows the first {GROUPS_SHOWN} groups of {_e(count(len(groups)))}.</p>')
        add("</section>")

    if impact.changes:
        add(f'<section id="policy-changes"><h2>What changed in the policy text ({len(impact.changes)})</h2>')
        for change in impact.changes:
            where = " · ".join(part for part in (f"old {change.old_where}" if change.old_where else "", f"new {change.new_where}" if change.new_where else "") if part)
            add(f'<h3>{_e(change.status)} <code>{_e(change.label)}</code> <span class="muted">{_e(where)}</span></h3>')
            add(_diff_lines(change.lines()))
        add("</section>")

    if impact.top_claims:
        add(f'<section id="most-changed"><h2>Claims that changed most ({len(impact.top_claims)} of {_e(count(total.changed))})</h2>')
        for rank, top in enumerate(impact.top_claims, start=1):
            add(f'<details class="claim"{" open" if rank == 1 else ""}><summary>{rank}. {_e(top.label)}: funds {_e(signed(top.delta))}</summary><table>')
            add(_head("output", "before", "after", numbers={1, 2}))
            for name in top.changed:
                add(f"<tr>{_cell(name)}{_cell(grouped(top.before[name]), True)}{_cell(grouped(top.after[name]), True)}</tr>")
            add("</table>")
            if top.explanation:
                add(_diff_lines(top.explanation))
            add("</details>")
        add("</section>")

    if tally.undecided_count:
        add(f'<section id="undecided"><h2>Claims not decided under both versions ({_e(count(tally.undecided_count))})</h2><ul>')
        for pair in tally.undecided:
            old = pair.old if isinstance(pair.old, str) else "decided"
            new = pair.new if isinstance(pair.new, str) else "decided"
            add(f"<li><code>{_e(pair.claim.label)}</code>: old: {_e(old)}; new: {_e(new)}</li>")
        add("</ul></section>")
    if impact.export is not None:
        add(f'<p class="muted">Every changed claim, each output before and after: <code>{_e(impact.export["path"])}</code> ({_e(count(impact.export["claims"]))} claims).</p>')
    add('<footer class="muted"><p>Written by <code>policydsl diff</code>. Money in yuan, summed exactly.</p></footer>')
    add("</body></html>")
    return "\n".join(out) + "\n"
