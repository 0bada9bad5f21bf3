"""`policydsl diff` as a bureau reads it (issue 16): money flows apart from informational
outputs, `--by` breakdowns, claims entering and leaving a flow or reaching a cap or threshold,
`--carry`, the policy text that changed, `--export`, `--html` (rendered in headless Chromium),
and the engines that decide the claims. The hand-made case (tests/data/impact) has its numbers
worked out in the comments."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

import policydsl
from policydsl.cli.main import main
from policydsl.diagnostics.model import PolicydslError, PolicyError
from policydsl.tools.impact import flows_of

from .conftest import DATA, ROOT, SNAPSHOTS

V1 = "policies/example/resident-2025.policy"
V2 = "policies/example/resident-2025-v2.policy"
CLAIMS = "policies/example/claims.jsonl"
CLINIC = DATA / "impact" / "policies" / "clinic"
CLINIC_V1, CLINIC_V2 = str(CLINIC / "v1.policy"), str(CLINIC / "v2.policy")
CLINIC_CLAIMS = str(DATA / "impact" / "claims.jsonl")


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def report(capsys, *argv) -> dict:
    status, out, err = run(capsys, "diff", "--json", *argv)
    assert status == 0, err
    return json.loads(out)


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


# ---- goldens: text, Markdown, JSON and the page's structure --------------------------------------

GOLDEN = ["--by", "person.category", "--by", "hospital_level", "--top", "2"]


@pytest.mark.parametrize("form, flags", [("txt", []), ("md", ["--markdown"]), ("json", ["--json"])])
def test_the_report_golden(form, flags, snapshot, capsys, at_root):
    status, out, err = run(capsys, "diff", *flags, *GOLDEN, V1, V2, CLAIMS)
    assert status == 0, err
    snapshot.snapshot_dir = SNAPSHOTS / "impact"
    snapshot.assert_match(out, f"example-v2-by.{form}")


def test_the_page_structure_golden(snapshot, tmp_path, capsys, at_root):
    page = tmp_path / "impact.html"
    status, _, err = run(capsys, "diff", "--html", page, *GOLDEN, V1, V2, CLAIMS)
    assert status == 0, err
    snapshot.snapshot_dir = SNAPSHOTS / "impact"
    snapshot.assert_match(outline(page.read_text(encoding="utf-8")), "example-v2-by.html-outline.txt")


class _Outline(HTMLParser):
    """The page's structure: sections and their headings, tables (header cells, rows), charts
    (size, bars), cards and their values; no styles, no numbers of a chart's geometry."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []
        self.stack: list[str] = []
        self.text: list[str] | None = None
        self.capturing: str | None = None  # the tag whose text is being read
        self.table: dict | None = None
        self.svg: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        ident = f"#{attributes['id']}" if "id" in attributes else ""
        if tag in ("section", "details", "header", "footer") or (tag == "div" and attributes.get("class") == "card"):
            self.lines.append(f"{'  ' * self._depth()}{tag}{ident}")
        if tag not in ("meta", "br"):
            self.stack.append("card" if tag == "div" and attributes.get("class") == "card" else tag)
        if self.capturing is not None:
            pass
        elif tag in ("h1", "h2", "h3", "summary", "th", "dt") or (tag == "span" and attributes.get("class") in ("label", "value")):
            self.text, self.capturing = [], tag
        elif tag == "table":
            self.table = {"header": [], "rows": 0}
        elif tag == "tr" and self.table is not None:
            self.table["rows"] += 1
        elif tag == "svg":
            self.svg = {"id": attributes.get("id"), "size": f"{attributes.get('width')}x{attributes.get('height')}", "rect": 0, "text": 0}
        elif tag in ("rect", "text") and self.svg is not None:
            self.svg[tag] += 1
        elif tag == "pre":
            self.lines.append(f"{'  ' * self._depth()}pre.{attributes.get('class')}")

    def handle_endtag(self, tag):
        if tag == self.capturing and tag == "th" and self.table is not None:
            self.table["header"].append(" ".join("".join(self.text).split()))
            self.text = self.capturing = None
        elif tag == self.capturing:
            self.lines.append(f"{'  ' * self._depth()}{tag}: {' '.join(''.join(self.text).split())}")
            self.text = self.capturing = None
        elif tag == "table" and self.table is not None:
            self.lines.append(f"{'  ' * self._depth()}table [{' | '.join(self.table['header'])}] {self.table['rows'] - 1} rows")
            self.table = None
        elif tag == "svg" and self.svg is not None:
            svg = self.svg
            self.lines.append(f"{'  ' * self._depth()}svg#{svg['id']} {svg['size']} rect={svg['rect']} text={svg['text']}")
            self.svg = None
        while self.stack and self.stack.pop() not in (tag, "card" if tag == "div" else tag):
            pass

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)

    def _depth(self) -> int:
        return sum(1 for tag in self.stack if tag in ("section", "details", "header", "footer", "card"))


def outline(page: str) -> str:
    parser = _Outline()
    parser.feed(page)
    return "\n".join(re.sub(r"svg#chart-flows (\d+)x\d+", r"svg#chart-flows \1xH", line) for line in parser.lines) + "\n"


# ---- the `flows` declaration ---------------------------------------------------------------------


def test_the_bundled_policies_declare_their_flows_in_the_national_frame():
    """The frame declares them; every region inherits them, Guangzhou too, whose money outputs
    `major_base` and `major_base_added` a guess by names took for layers."""
    for path in sorted((ROOT / "policies").glob("*/*.policy")):
        if path.name.startswith("worker-"):  # employee insurance: a fund and a personal account
            continue
        flows = flows_of(policydsl.load(path))
        assert flows.source == "declared", path
        assert (flows.fund, flows.patient) == (("basic", "major", "assistance"), ("patient_pays",)), path
    worker = flows_of(policydsl.load(ROOT / "policies/example/worker-2025.policy"))
    assert (worker.source, worker.fund, worker.patient) == ("declared", ("fund",), ("account_paid", "patient_pays"))
    guangzhou = flows_of(policydsl.load(ROOT / "policies/guangdong-guangzhou/resident-2025.policy"))
    assert guangzhou.where.startswith("policies/national/baseline-2025.policy:") or "national/baseline-2025.policy:" in guangzhou.where
    yubei = flows_of(policydsl.load(ROOT / "policies/chongqing-yubei/resident-2025.policy"))
    assert yubei.parts == (("large_cost_assistance", "assistance"), ("tilt_assistance", "assistance"))


FRAME = """policy "Frame"
input {{ a: money  b: money  c: money  flag: bool }}
rule paid: money = a + b
rule patient_pays: money = c
output a, b, paid, patient_pays, flag
{flows}
"""


def _family(tmp_path, parent: str, child: str):
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "parent.policy").write_text(FRAME.format(flows=parent), encoding="utf-8")
    (folder / "child.policy").write_text(f'policy "Child"\n  extends "parent"\n{child}\n', encoding="utf-8")
    return folder / "parent.policy", folder / "child.policy"


def test_a_child_adds_drops_and_repays_inherited_flows(tmp_path):
    parent, child = _family(tmp_path, "flows a, patient patient_pays", "flows b, patient a\ndrop flows patient_pays")
    assert (flows_of(policydsl.load(parent)).fund, flows_of(policydsl.load(parent)).patient) == (("a",), ("patient_pays",))
    found = flows_of(policydsl.load(child))
    assert (found.fund, found.patient, found.source) == (("b",), ("a",), "declared")
    assert found.where == f"{child}:4:1"  # the last text that changed them: the drop
    text = policydsl.load(child).env.linked.policy.definitions
    from policydsl.syntax import printer
    from policydsl.syntax import nodes as n

    assert [printer.definition(d) for d in text if isinstance(d, n.FlowsDef)] == ["flows patient a, b"]


def test_a_policy_without_flows_has_its_flows_inferred(tmp_path):
    parent, _ = _family(tmp_path, "", "")
    found = flows_of(policydsl.load(parent))
    # `paid` is a + b, both money outputs: it is the flow, they are its parts
    assert (found.source, found.fund, found.patient, found.parts) == ("inferred", ("paid",), ("patient_pays",), (("a", "paid"), ("b", "paid")))


@pytest.mark.parametrize(
    "parent, child, code, message",
    [
        ("flows a, nope", None, "C271", "flow `nope` is not an output"),
        ("flows a, flag", None, "C271", "flow `flag` is a bool; a flow is money paid"),
        ("flows a, patient a", None, "C271", "flow `a` is listed twice"),
        ("drop flows a", None, "C271", "`drop flows` in a policy that extends none"),
        ("flows a", "drop flows b", "C244", "`drop flows b`: the parent policy has no flow `b`"),
    ],
)
def test_a_flow_that_is_not_a_money_output_is_an_error(parent, child, code, message, tmp_path):
    parent_path, child_path = _family(tmp_path, parent, child or "")
    with pytest.raises(PolicyError) as raised:
        policydsl.load(child_path if child else parent_path)
    assert any(d.code == code and message in d.message for d in raised.value.diagnostics), raised.value


# ---- the hand-made case ----------------------------------------------------------------------------
#
# v1: basic = round(min(max(0, amount - 100) * ratio[level], 300)), ratio 50% at every level;
# v2: deductible 50, cap 200, level 3 at 0%. patient_pays = amount - basic.
#
#   claim  group level amount   v1 basic            v2 basic              change
#   c1     a     1       80     0 (below 100)       (80-50)*50% = 15      +15   enters basic; newly above the deductible
#   c2     a     1      100     0 (not above 100)   (100-50)*50% = 25     +25   enters basic; newly above the deductible
#   c3     b     2      600     500*50% = 250       min(275, 200) = 200   -50   newly reaches the cap
#   c4     b     3     1000     min(450, 300) = 300 min(0, 200) = 0      -300  leaves basic; no longer reaches the cap
#   c5     a     3       40     0                   0                       0   only basic_deductible changes (100 -> 50)
#   c6     b     1      300     200*50% = 100       250*50% = 125         +25
#
# basic 650 -> 365 (-285); patient_pays 1,470 -> 1,755 (+285: the bill is 2,120). Group a: c1, c2,
# c5: basic 0 -> 40; group b: c3, c4, c6: 650 -> 325. Level 1: 100 -> 165; 2: 250 -> 200; 3: 300 -> 0.


def test_flows_groups_and_crossings_by_hand(capsys):
    found = report(capsys, "--by", "group", "--by", "level", CLINIC_V1, CLINIC_V2, CLINIC_CLAIMS)
    assert found["claims"] == {"source": CLINIC_CLAIMS, "count": 6, "decided": 6, "payments_changed": 5, "changed": 6, "carried": None}
    assert (found["flows"]["fund"], found["flows"]["patient"], found["flows"]["source"]) == (["basic"], ["patient_pays"], "declared")
    assert found["totals"] == {
        "basic": {"payer": "fund", "claims_changed": 5, "before": "650.00", "after": "365.00", "difference": "-285.00", "entered": 2, "left": 1},
        "patient_pays": {"payer": "patient", "claims_changed": 5, "before": "1470.00", "after": "1755.00", "difference": "+285.00", "entered": 0, "left": 0},
    }
    assert found["funds"] == {"before": "650.00", "after": "365.00", "difference": "-285.00"}
    assert found["patient"]["difference"] == "+285.00"
    # the deductible is informational: every claim's changed, and it is never summed
    assert found["informational"] == {"basic_deductible": {"claims_changed": 6, "changes": [{"before": "100.00", "after": "50.00", "claims": 6}]}}
    assert "basic_deductible" not in found["totals"]
    crossings = {(row["kind"], row["text"]): (row["newly"], row["no_longer"]) for row in found["limits"]["found"]}
    assert crossings == {("cap", "cap"): (1, 1), ("threshold", "deductible"): (2, 0)}
    by_group, by_level = found["breakdowns"]
    assert by_group["by"] == ["group"]
    rows = {g["key"]["group"]: (g["claims"], g["payments_changed"], g["flows"]["basic"]["before"], g["flows"]["basic"]["after"], g["funds"]["difference"]) for g in by_group["groups"]}
    assert rows == {"a": (3, 2, "0.00", "40.00", "+40.00"), "b": (3, 3, "650.00", "325.00", "-325.00")}
    entered = {g["key"]["group"]: (g["flows"]["basic"]["entered"], g["flows"]["basic"]["left"]) for g in by_group["groups"]}
    assert entered == {"a": (2, 0), "b": (0, 1)}
    levels = {g["key"]["level"]: g["funds"]["difference"] for g in by_level["groups"]}
    assert levels == {"1": "+65.00", "2": "-50.00", "3": "-300.00"}
    distribution = found["distribution"]
    assert [distribution[k] for k in ("min", "q1", "median", "q3", "max")] == ["-300.00", "-50.00", "+15.00", "+25.00", "+25.00"]
    assert [t["claim"] for t in found["most_changed"]] == ["c4", "c3", "c2", "c6", "c1"]
    changed = {c["definition"]: c["status"] for c in found["policy_changes"]}
    assert changed == {"header": "changed", "param deductible": "changed", "table ratio": "changed", "param cap": "changed"}
    deductible = next(c for c in found["policy_changes"] if c["definition"] == "param deductible")
    assert deductible["old"] == {"text": "param deductible = 100 yuan", "where": f"{CLINIC_V1}:17:7"}
    assert deductible["new"] == {"text": "param deductible = 50 yuan", "where": f"{CLINIC_V2}:17:7"}


def test_a_group_by_two_fields_and_by_an_output(capsys):
    found = report(capsys, "--by", "group,level", "--by", "basic_deductible", CLINIC_V1, CLINIC_V2, CLINIC_CLAIMS)
    pairs, deductible = found["breakdowns"]
    assert [(g["key"]["group"], g["key"]["level"], g["claims"]) for g in pairs["groups"]] == [("a", "1", 2), ("a", "3", 1), ("b", "1", 1), ("b", "2", 1), ("b", "3", 1)]
    # an output groups by its value under the old version
    assert [(g["key"], g["claims"]) for g in deductible["groups"]] == [({"basic_deductible": "100.00"}, 6)]


def test_the_text_report_groups_thousands_and_lists_informational_outputs_apart(capsys, at_root):
    status, out, _ = run(capsys, "diff", CLINIC_V1, CLINIC_V2, CLINIC_CLAIMS)
    assert status == 0
    assert "Payments changed: 5 of 6 claims" in out
    assert "  fund's cost of the change: -285.00 yuan (basic)" in out
    assert "  patient_pays  patient               5  1,470.00  1,755.00     +285.00" in out.splitlines()
    informational = out.split("Informational outputs")[1].split("\n\n")[0]
    assert "basic_deductible               6  100.00 -> 50.00 (6)" in informational


@pytest.mark.parametrize(
    "by, message",
    [
        ("persn", "--by persn: no input field or output `persn`"),
        ("group.x", "`group` is a Group, which has no fields"),
        ("amont", "did you mean `amount`?"),
    ],
)
def test_a_field_that_cannot_group_is_a_usage_error(by, message, capsys):
    status, _, err = run(capsys, "diff", "--by", by, CLINIC_V1, CLINIC_V2, CLINIC_CLAIMS)
    assert status == 2 and message in err, err


def test_a_list_or_a_record_cannot_group(capsys, at_root):
    status, _, err = run(capsys, "diff", "--by", "items", V1, V2, CLAIMS)
    assert status == 2 and "`items` is a list" in err
    status, _, err = run(capsys, "diff", "--by", "person", V1, V2, CLAIMS)
    assert status == 2 and "`person` is a record; name one of its fields (person.category" in err


# ---- --export ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("extension", ["csv", "jsonl", "parquet"])
def test_every_changed_claim_is_exported_with_each_output_before_and_after(extension, tmp_path, capsys):
    target = tmp_path / f"changed.{extension}"
    found = report(capsys, "--export", target, CLINIC_V1, CLINIC_V2, CLINIC_CLAIMS)
    assert found["export"] == {"path": str(target), "format": extension, "claims": 6}
    rows = _read_export(target, extension)
    assert [row["claim_id"] for row in rows] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    c4 = rows[3]
    assert (c4["line"], c4["payments_changed"], c4["funds_change"]) == (4, True, Decimal("-300.00"))
    assert (c4["basic.before"], c4["basic.after"]) == (Decimal("300.00"), Decimal("0.00"))
    assert (c4["patient_pays.before"], c4["patient_pays.after"]) == (Decimal("700.00"), Decimal("1000.00"))
    c5 = rows[4]
    assert (c5["payments_changed"], c5["funds_change"], c5["basic_deductible.before"], c5["basic_deductible.after"]) == (False, Decimal("0.00"), Decimal("100.00"), Decimal("50.00"))


def _read_export(path: Path, extension: str) -> list[dict]:
    money = ("funds_change", "basic.before", "basic.after", "patient_pays.before", "patient_pays.after", "basic_deductible.before", "basic_deductible.after")
    if extension == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        assert str(table.schema.field("basic.before").type) == "decimal128(38, 2)"
        return table.to_pylist()
    if extension == "jsonl":
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            flat = {key: value for key, value in record.items() if not isinstance(value, dict)}
            for key, value in record.items():
                if isinstance(value, dict):
                    flat[f"{key}.before"], flat[f"{key}.after"] = value["before"], value["after"]
            rows.append({key: Decimal(value) if key in money and value is not None else value for key, value in flat.items()})
        return rows
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for row in rows:
        row["line"] = int(row["line"])
        row["payments_changed"] = row["payments_changed"] == "true"
        for key in money:
            row[key] = Decimal(row[key])
    return rows


def test_the_export_may_not_overwrite_the_claims(tmp_path, capsys):
    claims = tmp_path / "claims.jsonl"
    shutil.copy(CLINIC_CLAIMS, claims)
    status, _, err = run(capsys, "diff", "--export", claims, CLINIC_V1, CLINIC_V2, claims)
    assert status == 2 and "would overwrite" in err
    assert claims.read_text(encoding="utf-8") == Path(CLINIC_CLAIMS).read_text(encoding="utf-8")


# ---- --carry: person-years on both sides ------------------------------------------------------------


def test_carry_changes_the_estimate_where_a_cap_binds(tmp_path, capsys):
    """The example's person-year (three 300,000-yuan claims at a level-3 hospital in 2025, one of
    20,000 in 2026) under a basic annual cap lowered from 150,000 to 100,000 yuan.

    Claim by claim, each with its year-to-date amounts at 0 (what a file of claims gives when the
    ledger is not carried), every 2025 claim loses 50,000 of basic and its major-illness payment
    gains 35,000 (50,000 more above 100,000 at 70%): basic -150,000, major +105,000, funds -45,000.
    Carried, the basic fund pays 150,000 (old) or 100,000 (new) on the year's first claim and
    nothing after it (its cap is reached), and major-illness insurance pays its whole annual cap of
    400,000 on both sides (88,500 + 210,000 + 101,500, or 123,500 + 210,000 + 66,500): the cap binds,
    so the change costs the funds 50,000, not 45,000.
    """
    folder = tmp_path / "policies"
    folder.mkdir()
    base = (ROOT / V1).read_text(encoding="utf-8")
    assert "param basic_annual_cap = 150_000 yuan" in base
    (folder / "base.policy").write_text(base, encoding="utf-8")
    (folder / "lower-cap.policy").write_text(base.replace("param basic_annual_cap = 150_000 yuan", "param basic_annual_cap = 100_000 yuan").replace('version "2025.1"', 'version "2025.9"'), encoding="utf-8")
    claims = tmp_path / "person-year.jsonl"
    lines = []
    for line in (ROOT / "policies/example/person-year.jsonl").read_text(encoding="utf-8").splitlines():
        claim = json.loads(line)
        claim.update({"ytd_basic_paid": "0.00", "ytd_major_paid": "0.00", "ytd_major_base": "0.00"})
        lines.append(json.dumps(claim))
    claims.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = [folder / "base.policy", folder / "lower-cap.policy", claims]
    alone = report(capsys, *argv)
    carried = report(capsys, "--carry", *argv)
    assert (alone["totals"]["basic"]["difference"], alone["totals"]["major"]["difference"], alone["funds"]["difference"]) == ("-150000.00", "+105000.00", "-45000.00")
    assert carried["claims"]["carried"] == {"per": "person_id", "persons": 1}
    assert (carried["totals"]["basic"]["before"], carried["totals"]["basic"]["after"]) == ("161520.00", "111520.00")
    assert (carried["totals"]["major"]["before"], carried["totals"]["major"]["after"]) == ("400000.00", "400000.00")
    assert carried["funds"]["difference"] == "-50000.00"
    assert carried["claims"]["payments_changed"] == 2  # p1-b pays the same 210,000 of major either way
    top = {t["claim"]: t["outputs"] for t in carried["most_changed"]}
    assert top["p1-a"]["basic"] == {"before": "150000.00", "after": "100000.00"}
    assert top["p1-c"]["major"] == {"before": "101500.00", "after": "66500.00"}


def test_carry_needs_accumulators(capsys):
    status, _, err = run(capsys, "diff", "--carry", CLINIC_V1, CLINIC_V2, CLINIC_CLAIMS)
    assert status == 2 and "declares no accumulator" in err


# ---- Yubei: assistance is counted once ----------------------------------------------------------------


def test_yubei_assistance_is_counted_once(tmp_path, capsys):
    """Yubei's `assistance` is `large_cost_assistance + tilt_assistance`, all three outputs: the
    funds pay the change of `assistance`, not of it and its parts (issue 20: raising the tilt
    ratio cost 156.30 and the report said +312.60)."""
    folder = tmp_path / "policies"
    for region in ("national", "chongqing-yubei"):
        shutil.copytree(ROOT / "policies" / region, folder / region)
    yubei = folder / "chongqing-yubei" / "resident-2025.policy"
    text = yubei.read_text(encoding="utf-8")
    assert "param tilt_ratio = 60%" in text
    raised = yubei.parent / "raised-tilt.policy"
    raised.write_text(text.replace("param tilt_ratio = 60%", "param tilt_ratio = 70%"), encoding="utf-8")
    claims = tmp_path / "claims.jsonl"
    assert main(["generate", str(yubei), "-n", "600", "--seed", "5", "-o", str(claims)]) == 0
    capsys.readouterr()
    found = report(capsys, yubei, raised, claims)
    old_policy, new_policy = policydsl.load(yubei), policydsl.load(raised)
    flows = flows_of(new_policy)
    assert flows.fund == ("basic", "major", "assistance") and ("tilt_assistance", "assistance") in flows.parts
    paid = Decimal(0)
    for line in claims.read_text(encoding="utf-8").splitlines():
        claim = json.loads(line)
        try:
            old, new = old_policy.evaluate(claim), new_policy.evaluate(claim)
        except PolicydslError:
            continue
        paid += new.outputs["tilt_assistance"] - old.outputs["tilt_assistance"]
    assert paid > 0
    assert Decimal(found["funds"]["difference"]) == Decimal(found["totals"]["assistance"]["difference"]) == paid
    assert Decimal(found["parts"]["tilt_assistance"]["difference"]) == paid
    assert "tilt_assistance" not in found["totals"] and "large_cost_assistance" not in found["totals"]


# ---- the engines, and the claims' formats ------------------------------------------------------------


def test_the_columnar_and_row_engines_give_the_same_report(tmp_path, capsys, at_root):
    claims = tmp_path / "claims.jsonl"
    assert main(["generate", V1, "-n", "400", "--seed", "3", "-o", str(claims)]) == 0
    with claims.open("a", encoding="utf-8") as handle:  # claims the columnar reader leaves to the row engine
        handle.write('{"claim_id": "null-person", "person": null}\n')
        handle.write('{"claim_id": "level-as-text", "hospital_level": "3"}\n')
        handle.write("not json\n")
    capsys.readouterr()
    argv = ["--by", "person.category", "--top", "3", V1, V2, claims]
    auto, row = report(capsys, *argv), report(capsys, "--engine", "row", *argv)
    assert auto == row
    assert auto["claims"]["count"] == 403 and auto["undecided_count"] == 3


@pytest.mark.parametrize("extension", ["csv", "parquet"])
def test_csv_and_parquet_claims_give_the_report_of_the_same_jsonl(extension, tmp_path, capsys, at_root):
    jsonl, other = tmp_path / "claims.jsonl", tmp_path / f"claims.{extension}"
    for target in (jsonl, other):
        assert main(["generate", V1, "-n", "300", "--seed", "4", "-o", str(target)]) == 0
    capsys.readouterr()
    first, second = report(capsys, "--by", "hospital_level", V1, V2, jsonl), report(capsys, "--by", "hospital_level", V1, V2, other)
    for found in (first, second):
        found["claims"].pop("source")
    assert first == second


def test_a_tests_file_is_a_corpus_with_each_case_as_of_its_date(capsys, at_root):
    found = report(capsys, V1, V2, "policies/example/resident-2025-v2.tests.json")
    assert found["claims"]["count"] == 7 and found["undecided"][0]["claim"] == "v2-bad-level"


# ---- the page ---------------------------------------------------------------------------------------

HOSTILE_ID = '<script>alert("x")</script>'


def _hostile_claims(tmp_path) -> Path:
    claims = tmp_path / "hostile.jsonl"
    lines = Path(CLINIC_CLAIMS).read_text(encoding="utf-8").replace('"c4"', json.dumps(HOSTILE_ID))
    claims.write_text(lines, encoding="utf-8")
    return claims


def test_the_page_loads_nothing_and_escapes_what_comes_from_claims(tmp_path, capsys):
    page = tmp_path / "impact.html"
    status, _, err = run(capsys, "diff", "--html", page, "--by", "group", CLINIC_V1, CLINIC_V2, _hostile_claims(tmp_path))
    assert status == 0, err
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert re.findall(r"(?:src|href)\s*=", html) == []  # no resource of any kind, from anywhere
    assert re.findall(r"https?://", html) == ["http://"] * html.count('xmlns="http://www.w3.org/2000/svg"')
    assert "Content-Security-Policy\" content=\"default-src 'none'" in html
    assert "url(" not in html and "@import" not in html


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="needs headless Chromium (Debian package `chromium`: apt-get install -y chromium)")
def test_the_page_in_headless_chromium(tmp_path, capsys):
    """The page as Chromium shows it: the headline numbers, a breakdown row, the charts drawn at
    their size (blue bars in the screenshot), the hostile claim id as text. The screenshot is
    kept in the test's folder, and copied to $POLICYDSL_ARTIFACTS when that is set."""
    page = tmp_path / "impact.html"
    status, _, err = run(capsys, "diff", "--html", page, "--by", "group", CLINIC_V1, CLINIC_V2, _hostile_claims(tmp_path))
    assert status == 0, err
    browser = [_chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, timeout=180, check=True).stdout.decode("utf-8")
    shown = _Shown()
    shown.feed(dom)
    assert shown.values == {"payments-changed": "5", "funds-cost": "-285.00", "patients-pay": "+285.00", "outputs-changed": "6"}
    header, *rows = shown.rows_of("by-0")
    assert header[:6] == ["group", "claims", "payments changed", "basic before", "basic after", "basic difference"]
    assert next(row for row in rows if row[0] == "b")[:6] == ["b", "3", "3", "650.00", "325.00", "-325.00"]
    assert shown.scripts == 0 and any(HOSTILE_ID in text for text in shown.texts)
    charts = {svg["id"]: svg for svg in shown.svgs}
    assert set(charts) == {"chart-flows", "chart-distribution", "chart-by-0"}
    for svg in charts.values():
        assert int(svg["width"]) >= 600 and int(svg["height"]) >= 60 and svg["bars"] > 0
    screenshot = tmp_path / "impact.png"
    subprocess.run([*browser, "--window-size=1280,2200", f"--screenshot={screenshot}", page.as_uri()], capture_output=True, timeout=180, check=True)
    width, height, pixels = _png(screenshot.read_bytes())
    assert (width, height) == (1280, 2200)
    target = [0x2F, 0x6F, 0xDE]  # the bars' blue (--after)
    blue = int((abs(pixels.astype(int) - target) < 12).all(axis=1).sum())
    assert blue > 2_000, f"the charts' bars should show in the screenshot ({blue} blue pixels)"
    artifacts = os.environ.get("POLICYDSL_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(artifacts) / "impact-report.png")
        shutil.copy(page, Path(artifacts) / "impact-report.html")


class _Shown(HTMLParser):
    """What the rendered DOM shows: the cards' values, each breakdown's rows, charts, scripts."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self.card: str | None = None
        self.capture: list | None = None
        self.section: str | None = None
        self.rows: dict[str, list[list[str]]] = {}
        self.row: list[str] | None = None
        self.svgs: list[dict] = []
        self.scripts = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "section":
            self.section = attributes.get("id")
        if tag == "div" and attributes.get("class") == "card":
            self.card = attributes.get("id")
        if tag == "span" and attributes.get("class") == "value" and self.card:
            self.capture = []
        if tag == "tr":
            self.row = []
        if tag in ("td", "th") and self.row is not None:
            self.capture = []
        if tag == "svg":
            self.svgs.append({"id": attributes.get("id"), "width": attributes.get("width"), "height": attributes.get("height"), "bars": 0})
        if tag == "rect" and self.svgs:
            self.svgs[-1]["bars"] += 1

    def handle_endtag(self, tag):
        if tag == "span" and self.capture is not None and self.card:
            self.values[self.card] = "".join(self.capture).strip()
            self.capture, self.card = None, None
        elif tag in ("td", "th") and self.capture is not None and self.row is not None:
            self.row.append("".join(self.capture).strip())
            self.capture = None
        elif tag == "tr" and self.row is not None:
            self.rows.setdefault(self.section, []).append(self.row)
            self.row = None

    def handle_data(self, data):
        self.texts.append(data)
        if self.capture is not None:
            self.capture.append(data)

    def rows_of(self, section: str) -> list[list[str]]:
        return self.rows[section]


def _png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """A PNG's size and its pixels (RGB or RGBA, 8 bits), decoded with zlib (and numpy for the
    rows whose filter it can undo at once: none, sub, up)."""
    import numpy as np

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, [], None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, colour, *_ = header
    assert depth == 8 and colour in (2, 6), header
    size = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8).reshape(height, 1 + width * size)
    image = np.zeros((height, width * size), dtype=np.uint8)
    previous = np.zeros(width * size, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:
            row = (np.cumsum(line.reshape(width, size).astype(np.int64), axis=0) % 256).astype(np.uint8).reshape(-1)
        elif kind == 2:
            row = line + previous
        else:  # average, Paeth: pixel by pixel
            row = bytearray(line.tobytes())
            up = previous.tobytes()
            for i in range(len(row)):
                left = row[i - size] if i >= size else 0
                corner = up[i - size] if i >= size else 0
                if kind == 3:
                    row[i] = (row[i] + (left + up[i]) // 2) & 0xFF
                else:
                    p = left + up[i] - corner
                    pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - corner)
                    row[i] = (row[i] + (left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner)) & 0xFF
            row = np.frombuffer(bytes(row), dtype=np.uint8)
        image[y] = row
        previous = row
    pixels = image.reshape(height * width, size)[:, :3]
    return width, height, pixels
