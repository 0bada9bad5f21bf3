"""`policydsl show` on the bundled chain national -> Jiangxi -> Nanchang: where each
definition comes from, along the whole chain (an override replaces the parent's version,
not the first one in the chain); and the provenance it opens with (id, version, period,
digest, the files along `extends`), golden on a small test chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import policydsl
from policydsl.cli.main import main
from policydsl.syntax import nodes as n
from policydsl.tools.show import diff_parent_text, effective_text, provenance

from .conftest import ROOT

POLICIES = Path("policies")  # file names as `show` prints them, from the project's folder
NANCHANG = POLICIES / "jiangxi-nanchang" / "resident-2025.policy"


@pytest.fixture(autouse=True)
def in_the_project(monkeypatch):
    monkeypatch.chdir(ROOT)


def location(policy: str, kind, name: str | None = None) -> str:
    """Where `policy`'s own text for a definition is: its name, or the definition (input, output)."""
    linked = policydsl.load(POLICIES / policy).env.linked
    for d in linked.policy.definitions:
        if isinstance(d, kind) and getattr(d, "name", None) == name:
            origin = linked.origins[n.key(d)]
            if origin.at is not None:
                return origin.at.location
            return (n.name_span(d) if name else d.span).location
    raise AssertionError((policy, name))


def test_diff_parent_names_the_parents_version_of_an_overridden_table(capsys):
    assert main(["show", "--diff-parent", str(NANCHANG)]) == 0
    out = capsys.readouterr().out
    jiangxi = "policies/jiangxi/resident-2025.policy"
    titles = {line.split("  ")[0]: line for line in out.splitlines() if line.startswith("@@ overridden")}
    for kind, name in ((n.TableDef, "deductible"), (n.TableDef, "level_ratio")):
        label = f"@@ overridden {kind.__name__.removesuffix('Def').lower()}" + (f" {name}" if name else "")
        where = location("jiangxi/resident-2025.policy", kind, name)
        assert where.startswith(jiangxi)
        assert titles[label].endswith(f"(was {where})"), titles[label]
    # Jiangxi adds no input field (its 90-day rule reads the dates): Nanchang's input extends the national one
    assert titles["@@ overridden input"].endswith(f"(was {location('national/baseline-2025.policy', n.InputDef, None)})"), titles["@@ overridden input"]
    # a rule Jiangxi does not override still replaces the national one
    assert titles["@@ overridden rule basic_deductible"].endswith(f"(was {location('national/baseline-2025.policy', n.RuleDef, 'basic_deductible')})")


def test_an_inherited_definition_is_placed_where_its_parent_places_it():
    nanchang = policydsl.load(NANCHANG)
    jiangxi = policydsl.load(POLICIES / "jiangxi" / "resident-2025.policy")
    linked = nanchang.env.linked
    for definition in linked.policy.definitions:
        found = provenance(linked, definition)
        if found.status != "inherited":
            continue
        same = next(d for d in jiangxi.env.linked.policy.definitions if d == definition)  # loaded on its own
        in_parent = provenance(jiangxi.env.linked, same)
        assert (found.where, found.replaces) == (in_parent.where, in_parent.replaces), definition
    # the output Nanchang inherits is Jiangxi's merge (it adds `first_pay`), replacing the national output
    (output,) = [d for d in linked.policy.definitions if isinstance(d, n.OutputDef)]
    found = provenance(linked, output)
    assert found.status == "inherited"
    assert found.where == location("jiangxi/resident-2025.policy", n.OutputDef)
    assert found.replaces == location("national/baseline-2025.policy", n.OutputDef)


def test_effective_text_and_diff_agree_on_what_an_override_replaces():
    nanchang = policydsl.load(NANCHANG)
    shown = effective_text(nanchang)
    where = location("jiangxi/resident-2025.policy", n.TableDef, "deductible")
    assert f"(replaces {where})" in shown
    assert f"(was {where})" in diff_parent_text(nanchang)


def test_show_writes_literals_as_fmt_does(capsys):
    assert main(["show", str(NANCHANG)]) == 0
    out = capsys.readouterr().out
    assert "override param major_base_cap = 300_000 yuan" in out
    assert "300000 yuan" not in out


# ---- which policy it is: id, version, period, digest, the files along `extends` ----------------

CITY = Path("tests") / "data" / "inherit" / "policies" / "city" / "c.policy"


def test_show_opens_with_the_provenance_golden(capsys, snapshot):
    """The lines before the header: a small chain of test policies, city -> province -> national."""
    assert main(["show", str(CITY)]) == 0
    out = capsys.readouterr().out
    opening = out[: out.index("\n\n") + 1]
    snapshot.snapshot_dir = ROOT / "tests" / "snapshots" / "show"
    snapshot.assert_match(opening, "city-provenance.txt")
    assert f"# digest {policydsl.load(CITY).provenance.digest}\n" in opening


def test_show_names_every_file_the_digest_covers_in_its_order(capsys):
    """Nanchang's digest is over Nanchang, Jiangxi, the national baseline: each listed by id
    and file, in that order, under the id, version, period and digest every decision carries."""
    nanchang = policydsl.load(NANCHANG)
    found = nanchang.provenance
    assert main(["show", str(NANCHANG)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"# policy jiangxi-nanchang/resident-2025, version {found.version}, in force from 2025-01-01 until 2025-12-31"
    assert lines[2] == f"# digest {found.digest}"
    assert found.chain == ("jiangxi-nanchang/resident-2025", "jiangxi/resident-2025", "national/baseline-2025")
    listed = [line.split() for line in lines[4:7]]
    assert listed == [["#", policy_id, str(POLICIES / f"{policy_id}.policy")] for policy_id in found.chain]
    assert lines[7] == ""
    assert found.to_json() == nanchang.evaluate(_any_claim(nanchang)).to_json()["policy"]


def _any_claim(policy) -> dict:
    """A claim the policy decides: the first of its tests file's that expects outputs."""
    tests = json.loads(Path(policy.name).with_name("resident-2025.tests.json").read_text(encoding="utf-8"))
    return next(case["claim"] for case in tests["tests"] if "expect" in case)
