"""Inheritance (national -> province -> city), final/floor/ceiling, and `extends` safety."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl
from policydsl.cli.main import main

from .conftest import DATA, SNAPSHOTS

ROOT = DATA / "inherit" / "policies"


def load(name: str) -> policydsl.Policy:
    return policydsl.load(ROOT / f"{name}.policy")


def claim(day: str, amount: str = "1000", level: int = 3) -> dict:
    return {"day": day, "amount": amount, "level": level}


def test_child_overrides_rows_and_params_and_inherits_the_rest():
    province = load("province/p-2025")
    decision = province.evaluate(claim("2025-03-01"))
    # deductible row 3 overridden to 400; ratio inherited (50% in H1); bonus is the province's own
    assert decision.outputs["paid"] == Decimal("300.00")
    assert decision.outputs["with_bonus"] == Decimal("310.00")
    assert decision.outputs["incentive"] == Decimal("6000.00")  # step overridden to 2,000, x3
    assert province.evaluate(claim("2025-03-01", level=1)).outputs["paid"] == Decimal("450.00")  # row 1 inherited


def test_three_levels_national_province_city():
    city = load("city/c")
    assert city.env.linked.chain == [str(ROOT / "city/c.policy"), *[str(p) for p in (ROOT / "province/p-2025.policy", ROOT / "national/base.policy")]] or [
        Path(p).name for p in city.env.linked.chain
    ] == ["c.policy", "p-2025.policy", "base.policy"]
    assert city.evaluate(claim("2025-08-01", amount="2000", level=4)).outputs["paid"] == Decimal("720.00")  # 60% of 1200
    assert city.evaluate(claim("2025-08-01", amount="2000", level=3)).outputs["paid"] == Decimal("960.00")  # province row
    assert city.evaluate(claim("2025-08-01", amount="2000")).outputs["with_bonus"] == Decimal("975.00")  # city bonus


def test_a_newer_version_overrides_a_dated_parameter_for_all_dates():
    later = load("province/p-2026")
    assert later.evaluate(claim("2026-03-01")).outputs["paid"] == Decimal("420.00")  # 70% of 600


@pytest.mark.parametrize(
    "name",
    ["broken/overrides", "broken/escape", "broken/missing-parent", "broken/loop-a", "broken/new-member-uncovered"],
)
def test_inheritance_errors_report(name, snapshot, capsys, monkeypatch):
    monkeypatch.chdir(ROOT.parent)
    assert main(["check", f"policies/{name}.policy"]) == 1
    snapshot.snapshot_dir = SNAPSHOTS / "inherit"
    snapshot.assert_match(capsys.readouterr().out, f"{name.replace('/', '-')}.txt")


@pytest.mark.parametrize(
    "code,expected",
    [
        ("C244", "`override param stepp`: the parent policy defines no param `stepp`"),
        ("C215", "`step` may not be lowered below 1000.00"),
        ("C215", "`limit` may not be raised above 20%"),
        ("C245", "`fixed_wait` is final"),
        ("C243", "`ratio` is already defined by the parent policy"),
    ],
)
def test_each_override_rule_is_enforced(code, expected):
    with pytest.raises(policydsl.PolicyError) as raised:
        load("broken/overrides")
    assert any(d.code == code and expected in d.message for d in raised.value.diagnostics)


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "national/../../../etc/passwd", "..", "a/./../b"])
def test_extends_never_leaves_the_policies_root(tmp_path, target):
    root = tmp_path / "policies"
    root.mkdir()
    text = f'policy "x" extends "{target}"\ninput {{ a: money }}\noutput a\n'
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, "x.policy", root=root)
    assert [d.code for d in raised.value.diagnostics] == ["C246"]


def test_extends_does_not_follow_a_link_out_of_the_root(tmp_path):
    outside = tmp_path / "outside.policy"
    outside.write_text('policy "secret"\ninput { a: money }\noutput a\n')
    root = tmp_path / "policies"
    root.mkdir()
    (root / "sneaky.policy").symlink_to(outside)
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads('policy "x" extends "sneaky"\n', "x.policy", root=root)
    assert [d.code for d in raised.value.diagnostics] == ["C246"]


def test_extends_without_a_root_is_an_error_not_a_file_read():
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads('policy "x" extends "national/base"\n')
    assert [d.code for d in raised.value.diagnostics] == ["C240"]


def test_override_without_extends_is_an_error():
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads("input { a: money }\noverride param p = 1 yuan\noutput a\n")
    assert "C244" in [d.code for d in raised.value.diagnostics]


def test_show_marks_origins(capsys, monkeypatch, snapshot):
    monkeypatch.chdir(ROOT.parent)
    assert main(["show", "policies/city/c.policy"]) == 0
    out = capsys.readouterr().out
    assert "# inherited: policies/national/base.policy:38:6" in out
    # the city's table replaces the province's, which replaced the national one
    assert "# overridden: policies/city/c.policy:8:16 (replaces policies/province/p-2025.policy:7:16)" in out
    snapshot.snapshot_dir = SNAPSHOTS / "inherit"
    snapshot.assert_match(out, "show-city.txt")


def test_show_diff_parent(capsys, monkeypatch, snapshot):
    monkeypatch.chdir(ROOT.parent)
    assert main(["show", "--diff-parent", "policies/province/p-2025.policy"]) == 0
    out = capsys.readouterr().out
    assert "-   3: 300 yuan" in out and "+   3: 400 yuan" in out
    assert "@@ own param bonus" in out
    snapshot.snapshot_dir = SNAPSHOTS / "inherit"
    snapshot.assert_match(out, "diff-parent-province.txt")


def test_effective_policy_text_checks_to_the_same_decisions(tmp_path):
    """What `show` prints is a complete policy: it loads and decides like the original."""
    from policydsl.tools.show import effective_text

    city = load("city/c")
    text = effective_text(city).replace("  extends \"province/p-2025\"\n", "")
    text = "\n".join(line for line in text.splitlines()).replace("override ", "")
    flattened = policydsl.loads(text, "flat.policy")
    for day in ("2025-02-01", "2025-09-01"):
        for level in (1, 2, 3, 4):
            facts = claim(day, "5000", level)
            assert flattened.evaluate(facts).outputs == city.evaluate(facts).outputs


def test_dated_parameter_in_explanation_names_its_period():
    text = load("national/base").evaluate(claim("2025-07-01")).explain()
    assert "ratio = 60% (in force from 2025-07-01) [national, H2]" in text
    assert "Values in force: 2025-07-01 to further notice" in text


def test_explanation_in_chinese_and_reason_codes():
    decision = load("national/base").evaluate(claim("2025-03-01"))
    zh = decision.explain("zh")
    assert "超过起付线部分按比例支付" in zh and "理由" in zh and "各项计算过程" in zh
    assert "Above the deductible" in decision.explain("en")
    steps = {s.name: s for s in decision.explanation().steps}
    assert steps["paid"].reason_codes == ("paid",)
    assert steps["patient_pays"].reason_codes == ("patient_pays",)


def _tree(tmp_path, files: dict[str, str]):
    root = tmp_path / "policies"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_national_floor_holds_through_a_province_that_overrides_it(tmp_path):
    root = _tree(
        tmp_path,
        {
            "national/base.policy": 'policy "n"\ninput { amount: money }\nparam step = 1_000 yuan floor\nrule paid: money = amount + step\noutput paid\n',
            "province/p.policy": 'policy "p" extends "national/base"\noverride param step = 3_000 yuan\n',
            "city/c.policy": 'policy "c" extends "province/p"\noverride param step = 500 yuan\n',
        },
    )
    assert policydsl.load(root / "province/p.policy").evaluate({"amount": "1"}).outputs["paid"] == Decimal("3001.00")
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.load(root / "city/c.policy")
    assert [d.code for d in raised.value.diagnostics] == ["C215"]
    assert "the floor set at" in raised.value.diagnostics[0].message and "national/base.policy:3:7" in raised.value.diagnostics[0].message


def test_a_policy_in_force_before_its_parent_is_warned(tmp_path):
    root = _tree(
        tmp_path,
        {
            "national/base.policy": 'policy "n" effective from 2025-01-01 as of day\ninput { day: date amount: money }\noutput amount\n',
            "old/o.policy": 'policy "o" effective from 2020-01-01 as of day extends "national/base"\n',
            "new/n.policy": 'policy "n2" effective from 2025-07-01 as of day extends "national/base"\n',
        },
    )
    assert [w.code for w in policydsl.load(root / "old/o.policy").warnings] == ["W233"]
    assert policydsl.load(root / "new/n.policy").warnings == []
