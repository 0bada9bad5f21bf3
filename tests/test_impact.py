"""`policydsl diff`: the impact report of a policy change (goldens for text and Markdown),
its figures, and `--rev` against a git revision."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal

import pytest

import policydsl
from policydsl.tools import impact
from policydsl.cli.main import main

from .conftest import ROOT, SNAPSHOTS

V1 = "policies/example/resident-2025.policy"
V2 = "policies/example/resident-2025-v2.policy"
CLAIMS = "policies/example/claims.jsonl"


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


# ---- goldens ------------------------------------------------------------------------------


@pytest.mark.parametrize("form, flags", [("txt", []), ("md", ["--markdown"])])
def test_impact_report_golden(form, flags, snapshot, capsys, at_root):
    status, out, err = run(capsys, "diff", *flags, V1, V2, CLAIMS)
    assert status == 0, err
    snapshot.snapshot_dir = SNAPSHOTS / "impact"
    snapshot.assert_match(out, f"example-v2.{form}")


# ---- the figures ------------------------------------------------------------------------


def test_the_json_report_has_exact_totals_and_the_funds_cost(capsys, at_root):
    status, out, _ = run(capsys, "diff", "--json", V1, V2, CLAIMS)
    assert status == 0
    report = json.loads(out)
    assert report["claims"] == {"source": CLAIMS, "count": 14, "decided": 14, "payments_changed": 5, "changed": 5, "carried": None}
    assert report["changed_outputs"] == {"basic": 4, "major": 3, "assistance": 1, "patient_pays": 5}
    assert (report["flows"]["fund"], report["flows"]["patient"]) == (["basic", "major", "assistance"], ["patient_pays"])
    assert report["totals"]["basic"] == {"payer": "fund", "claims_changed": 4, "before": "157125.00", "after": "168330.00", "difference": "+11205.00", "entered": 0, "left": 0}
    # the bill and its parts are informational: counted, never summed
    assert "eligible" not in report["totals"] and report["informational"]["eligible"] == {"claims_changed": 0, "changes": []}
    funds = report["funds"]
    assert Decimal(funds["after"]) - Decimal(funds["before"]) == Decimal(funds["difference"]) == Decimal("9185.20")
    # the funds pay what the patients no longer pay
    assert Decimal(report["totals"]["patient_pays"]["difference"]) == -Decimal(funds["difference"])
    distribution = report["distribution"]
    assert distribution["method"] == "nearest-rank"
    assert [distribution[k] for k in ("min", "q1", "median", "q3", "max")] == ["+355.20", "+410.00", "+960.00", "+2460.00", "+5000.00"]
    assert sum(b["claims"] for b in distribution["histogram"]) == 5
    top = report["most_changed"]
    assert [t["claim"] for t in top] == ["ex-10-major-cap-incentive", "ex-07-major-tiers", "ex-04-after-wait", "ex-06-newborn-exempt", "ex-12-low-income-assistance"]
    assert top[0]["outputs"]["major"] == {"before": "10000.00", "after": "15000.00"}
    assert "-   using incentive_step = 4000.00" in top[0]["explanation"]
    assert "+   using incentive_step = 5000.00" in top[0]["explanation"]
    assert report["undecided"] == []


def test_the_claims_of_a_tests_file_can_be_the_corpus(capsys, at_root):
    status, out, _ = run(capsys, "diff", "--json", V1, V2, "policies/example/resident-2025-v2.tests.json")
    report = json.loads(out)
    assert report["claims"]["count"] == 7 and report["claims"]["decided"] == 6
    assert report["undecided"][0]["claim"] == "v2-bad-level"
    assert report["undecided"][0]["old"].startswith("[F302]")
    assert report["undecided_count"] == 1


def test_nearest_rank_quartiles_are_values_of_the_data():
    values = [Decimal(v) for v in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10")]
    assert [impact.nearest_rank(values, p) for p in (25, 50, 75, 100)] == [Decimal(3), Decimal(5), Decimal(8), Decimal(10)]
    assert impact.nearest_rank([Decimal(7)], 25) == Decimal(7)


def test_the_histogram_counts_every_claim_once():
    values = sorted(Decimal(v) for v in ("-10", "0.01", "5", "5", "20", "100"))
    bins = impact.histogram(values)
    assert sum(count for *_, count in bins) == len(values)
    assert bins[0][0] == Decimal(-10) and bins[-1][1] == Decimal(100)
    assert impact.histogram([Decimal(3), Decimal(3)]) == [(Decimal(3), Decimal(3), 2)]


def test_no_change_is_reported_plainly(capsys, at_root):
    status, out, _ = run(capsys, "diff", V1, V1, CLAIMS)
    assert status == 0
    assert "Payments changed: 0 of 14 claims" in out
    assert "no claim's payment changed" in out


def test_layers_can_be_chosen(capsys, at_root):
    status, out, _ = run(capsys, "diff", "--json", "--layers", "basic", V1, V2, CLAIMS)
    assert json.loads(out)["funds"]["difference"] == "+11205.00"
    status, _, err = run(capsys, "diff", "--layers", "nope", V1, V2, CLAIMS)
    assert status == 2 and "nope is not an output" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["diff", V1, V2], "give OLD.policy NEW.policy CLAIMS"),
        (["diff", "--rev", "HEAD", V1, V2, CLAIMS], "with --rev, give NEW.policy and CLAIMS"),
        (["diff", V1, V2, "nowhere.jsonl"], "no such claims file"),
        (["diff", "--json", "--markdown", V1, V2, CLAIMS], "choose one of --json and --markdown"),
        (["diff", "--rev", "no-such-revision", V2, CLAIMS], "cannot read policies at revision 'no-such-revision'"),
    ],
)
def test_usage_errors(argv, message, capsys, at_root):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert message in err and "Traceback" not in err


def test_a_policy_that_does_not_load_is_a_finding(tmp_path, capsys, at_root):
    broken = tmp_path / "broken.policy"
    broken.write_text("input { a: money }\nrule r: money = b\noutput r\n", encoding="utf-8")
    status, _, err = run(capsys, "diff", V1, str(broken), CLAIMS)
    assert status == 1 and "undefined name `b`" in err


# ---- which policy each side is -----------------------------------------------------------


def test_the_report_names_the_policy_of_each_side(capsys, at_root):
    """Both sides' provenance, as every decision record carries it; no warning when the
    versions differ (2025.1 -> 2025.2) or when both sides are one text."""
    old, new = policydsl.load(V1).provenance, policydsl.load(V2).provenance
    status, out, err = run(capsys, "diff", "--json", V1, V2, CLAIMS)
    report = json.loads(out)
    assert (report["old"]["policy"], report["new"]["policy"]) == (old.to_json(), new.to_json())
    assert report["old"]["policy"]["id"] == "example/resident-2025" and report["new"]["policy"]["version"] == "2025.2"
    assert report["warnings"] == [] and "warning" not in err
    status, out, err = run(capsys, "diff", V1, V2, CLAIMS)
    assert f"       policy example/resident-2025 ({old.digest[:19]}...)" in out.splitlines()
    assert f"       policy example/resident-2025-v2 ({new.digest[:19]}...)" in out.splitlines()
    status, out, err = run(capsys, "diff", "--json", V1, V1, CLAIMS)
    assert json.loads(out)["warnings"] == [] and err == ""


SAME_VERSION = 'policy "Clinic"\n  version "2025.1"\ninput {{ amount: money }}\nparam ratio = {ratio}\nrule paid: money = amount * ratio\noutput paid\n'


def test_the_same_version_with_another_text_is_a_warning(tmp_path, capsys):
    """Both files say version 2025.1 but say different things: the CLI warns on stderr, and
    the report says it in every form."""
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "clinic.policy").write_text(SAME_VERSION.format(ratio="50%"), encoding="utf-8")
    (folder / "clinic-edited.policy").write_text(SAME_VERSION.format(ratio="60%"), encoding="utf-8")
    (tmp_path / "c.jsonl").write_text('{"claim_id": "a", "amount": "100"}\n', encoding="utf-8")
    old, new = (policydsl.load(folder / name).provenance for name in ("clinic.policy", "clinic-edited.policy"))
    assert old.version == new.version == "2025.1" and old.digest != new.digest
    argv = [str(folder / "clinic.policy"), str(folder / "clinic-edited.policy"), str(tmp_path / "c.jsonl")]
    expected = f"both policies say version 2025.1 but their texts differ ({old.digest[:19]}... vs {new.digest[:19]}...): give the new text a new version"
    status, out, err = run(capsys, "diff", "--json", *argv)
    assert status == 0
    assert json.loads(out)["warnings"] == [expected]
    assert err == f"policydsl: warning: {expected}\n"
    status, out, err = run(capsys, "diff", *argv)
    assert f"  warning: {expected}" in out.splitlines() and expected in err
    status, out, err = run(capsys, "diff", "--markdown", *argv)
    assert f"- **warning: {expected}**" in out.splitlines()


def test_the_same_text_under_another_name_is_told_apart(tmp_path, capsys):
    """The digest covers the ids, so one text at two paths has two digests: the warning says
    the texts are the same and the names differ."""
    for folder in ("a", "b"):
        (tmp_path / "policies" / folder).mkdir(parents=True)
        (tmp_path / "policies" / folder / "clinic.policy").write_text(SAME_VERSION.format(ratio="50%"), encoding="utf-8")
    (tmp_path / "c.jsonl").write_text('{"amount": "100"}\n', encoding="utf-8")
    status, out, err = run(capsys, "diff", "--json", *(str(tmp_path / "policies" / f / "clinic.policy") for f in ("a", "b")), str(tmp_path / "c.jsonl"))
    (warning,) = json.loads(out)["warnings"]
    assert warning.startswith("both policies say version 2025.1 and have the same text, but under other names (a/clinic vs b/clinic)")
    assert json.loads(out)["claims"]["changed"] == 0


# ---- --rev -----------------------------------------------------------------------------------


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_rev_compares_the_working_tree_with_a_revision_and_its_parents(tmp_path, capsys, monkeypatch):
    """v2 extends v1: at the old revision both are taken from git, so a change to the parent shows."""
    policies = tmp_path / "policies" / "example"
    policies.mkdir(parents=True)
    for name in ("resident-2025.policy", "resident-2025-v2.policy", "claims.jsonl"):
        shutil.copy(ROOT / "policies" / "example" / name, policies / name)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "v1")
    parent = policies / "resident-2025.policy"
    parent.write_text(parent.read_text(encoding="utf-8").replace("2: 75%", "2: 80%"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "diff", "--json", "--rev", "HEAD", "policies/example/resident-2025-v2.policy", "policies/example/claims.jsonl")
    assert status == 0, err
    report = json.loads(out)
    assert report["old"]["path"] == "policies/example/resident-2025-v2.policy at HEAD"
    # v2 still says 2025.2, but the parent its digest covers changed: a warning
    assert report["old"]["policy"]["id"] == report["new"]["policy"]["id"] == "example/resident-2025-v2"
    assert report["old"]["policy"]["digest"] != report["new"]["policy"]["digest"]
    assert report["warnings"] == [
        f"both policies say version 2025.2 but their texts differ ({report['old']['policy']['digest'][:19]}... vs "
        f"{report['new']['policy']['digest'][:19]}...): give the new text a new version"
    ]
    assert "policydsl: warning: both policies say version 2025.2 but their texts differ" in err
    # the level-2 claims change through the parent (ex-05 is in its waiting period): 5 more
    # points of (12,000 - 500) + (10,000 - 500) + (4,000 - 500) = 575 + 475 + 175
    assert report["changed_outputs"]["basic"] == 3
    assert report["totals"]["basic"]["difference"] == "+1225.00"
    # two revisions: commit the change, then compare the first commit with HEAD
    _git(tmp_path, "commit", "-q", "-am", "level 2 at 80%")
    status, out, err = run(capsys, "diff", "--json", "--rev", "HEAD~1..HEAD", "policies/example/resident-2025-v2.policy", "policies/example/claims.jsonl")
    assert status == 0, err
    report = json.loads(out)
    assert report["new"]["path"] == "policies/example/resident-2025-v2.policy at HEAD"
    assert report["totals"]["basic"]["difference"] == "+1225.00"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_rev_outside_a_git_repository_says_so(tmp_path, capsys):
    (tmp_path / "p.policy").write_text("input { a: money }\noutput a\n", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text('{"a": "1"}\n', encoding="utf-8")
    status, _, err = run(capsys, "diff", "--rev", "HEAD", str(tmp_path / "p.policy"), str(tmp_path / "c.jsonl"))
    assert status == 2
    assert "is not in a git repository (--rev needs git)" in err
