"""Every decision names the policy that made it: id, version, period and a digest of the
policy's text and of every file along its `extends` chain (link/provenance.py).

The digest is taken over the bundled policies as they are, copied where a test changes
them: one byte of the national baseline changes the digest of every region that extends it
(and of no other policy), the digest is what the module's docstring says it is, the same in
another process and wherever the folder lies, and every kind of record carries it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import policydsl
from policydsl.cli.main import main

from .conftest import DATA, ROOT

BASELINE = "national/baseline-2025"
NANCHANG = "jiangxi-nanchang/resident-2025"


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def copy_policies(where: Path) -> Path:
    """A copy of the bundled policies folder at `where/policies`."""
    target = where / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def load_all(root: Path) -> dict[str, policydsl.Policy]:
    """Every policy of a policies folder, by id."""
    found = {}
    for path in sorted(root.rglob("*.policy")):
        policy = policydsl.load(path)
        found[policy.provenance.id] = policy
    return found


def first_decided_claim(policy) -> dict:
    """The first claim of the policy's tests file that it must decide."""
    tests = json.loads(Path(policy.name).with_name(Path(policy.name).name.removesuffix(".policy") + ".tests.json").read_text(encoding="utf-8"))
    return next(case["claim"] for case in tests["tests"] if "expect" in case)


def by_hand(root: Path, chain: tuple[str, ...]) -> str:
    """The digest as the module's docstring defines it, from the files' texts along `chain`
    (the policy first): per file its id, NUL, its length in UTF-8 bytes, NUL, its text."""
    hasher = hashlib.sha256()
    for policy_id in chain:
        text = (root / f"{policy_id}.policy").read_text(encoding="utf-8")  # universal newlines: `\n`
        data = text.encode("utf-8")
        hasher.update(policy_id.encode("utf-8") + b"\0" + str(len(data)).encode("ascii") + b"\0" + data)
    return "sha256:" + hasher.hexdigest()


def change_one_byte_of_a_comment(path: Path) -> None:
    """Change one ASCII letter of the first comment of the file: one byte, no rule changes."""
    data = bytearray(path.read_bytes())
    start = data.index(b"#")
    at = next(i for i in range(start, len(data)) if chr(data[i]).isalpha() and data[i] < 128)
    data[at] = ord("x") if data[at] != ord("x") else ord("y")
    path.write_bytes(bytes(data))


# ---- (a) one byte of the national baseline -----------------------------------------------------


def test_one_byte_of_the_baseline_changes_the_digest_of_every_region_that_extends_it(tmp_path):
    root = copy_policies(tmp_path)
    before = load_all(root)
    extending = sorted(pid for pid, policy in before.items() if BASELINE in policy.provenance.chain[1:])
    others = sorted(pid for pid, policy in before.items() if BASELINE not in policy.provenance.chain)
    # directly (Sichuan, Shandong, ...) and through a province (Nanchang, through Jiangxi)
    assert {"sichuan/resident-2025", "jiangxi/resident-2025", NANCHANG} <= set(extending)
    assert before[NANCHANG].provenance.chain == (NANCHANG, "jiangxi/resident-2025", BASELINE)
    claims = {pid: first_decided_claim(before[pid]) for pid in extending}
    decided = {pid: before[pid].evaluate(claims[pid]).to_json() for pid in extending}

    baseline = root / f"{BASELINE}.policy"
    old_bytes = baseline.read_bytes()
    change_one_byte_of_a_comment(baseline)
    assert sum(a != b for a, b in zip(old_bytes, baseline.read_bytes())) == 1 and len(old_bytes) == baseline.stat().st_size

    after = load_all(root)
    assert after.keys() == before.keys()
    for pid in [BASELINE, *extending]:
        assert after[pid].provenance.digest != before[pid].provenance.digest, pid
    for pid in others:
        assert after[pid].provenance == before[pid].provenance, pid
    # a comment decides nothing: the same outputs, but each record names the new text
    for pid in extending:
        record = after[pid].evaluate(claims[pid]).to_json()
        assert record["policy"]["digest"] == after[pid].provenance.digest != decided[pid]["policy"]["digest"]
        assert {k: v for k, v in record.items() if k != "policy"} == {k: v for k, v in decided[pid].items() if k != "policy"}


def test_a_change_to_the_province_changes_its_cities_but_not_the_nation_or_other_provinces(tmp_path):
    root = copy_policies(tmp_path)
    before = load_all(root)
    change_one_byte_of_a_comment(root / "jiangxi" / "resident-2025.policy")
    after = load_all(root)
    changed = {pid for pid in before if after[pid].provenance.digest != before[pid].provenance.digest}
    assert changed == {pid for pid, policy in before.items() if "jiangxi/resident-2025" in policy.provenance.chain}
    assert {"jiangxi/resident-2025", NANCHANG} <= changed and BASELINE not in changed


# ---- (b) the documented order ------------------------------------------------------------------


@pytest.mark.parametrize("policy_id", [NANCHANG, "sichuan/resident-2025", BASELINE, "example/resident-2025-v2"])
def test_the_digest_is_the_documented_hash_of_the_files_along_extends(policy_id):
    root = ROOT / "policies"
    found = policydsl.load(root / f"{policy_id}.policy").provenance
    assert found.id == policy_id and found.chain[0] == policy_id
    assert found.digest == by_hand(root, found.chain)
    assert found.digest.startswith("sha256:") and len(found.digest) == len("sha256:") + 64
    # the order counts: the same files the other way round are another digest
    assert found.digest != by_hand(root, found.chain[::-1]) or len(found.chain) == 1


def test_line_breaks_are_read_as_newlines(tmp_path):
    """The digest is over the text as policydsl reads it: a copy with CRLF line breaks is the
    same text, and the same digest."""
    root = copy_policies(tmp_path)
    baseline = root / f"{BASELINE}.policy"
    baseline.write_bytes(baseline.read_bytes().replace(b"\n", b"\r\n"))
    assert policydsl.load(root / f"{NANCHANG}.policy").provenance.digest == policydsl.load(ROOT / "policies" / f"{NANCHANG}.policy").provenance.digest


# ---- (c) the same on any machine -----------------------------------------------------------------

DIGESTS = """
import json, sys
from pathlib import Path
import policydsl
root = Path(sys.argv[1])
print(json.dumps({str(p.relative_to(root)): policydsl.load(p).provenance.digest for p in sorted(root.rglob("*.policy"))}))
"""


def digests_in_a_process(root: Path, cwd: Path, seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", DIGESTS, str(root)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_digest_does_not_depend_on_the_process_the_folder_or_the_working_directory(tmp_path, monkeypatch):
    here = {str(p.relative_to(ROOT / "policies")): policydsl.load(p).provenance.digest for p in sorted((ROOT / "policies").rglob("*.policy"))}
    one = copy_policies(tmp_path / "one")
    two = copy_policies(tmp_path / "two" / "deeper")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert digests_in_a_process(one, elsewhere, "0") == here
    assert digests_in_a_process(two, two / "sichuan", "4242") == here
    # and by a relative path, from inside the folder
    monkeypatch.chdir(two)
    assert policydsl.load(Path("jiangxi-nanchang") / "resident-2025.policy").provenance.digest == here["jiangxi-nanchang/resident-2025.policy"]


# ---- (d) every kind of record carries it -----------------------------------------------------------


def test_every_decision_record_carries_the_policy():
    decided = 0
    for path in sorted((ROOT / "policies").rglob("*.policy")):
        policy = policydsl.load(path)
        if all(run is None for run in policy.program.runs):
            continue  # a frame (W237) decides no claim: its refusals are tested in test_regions
        decided += 1
        found = policy.provenance
        record = policy.evaluate(first_decided_claim(policy)).to_json()
        assert record["policy"] == {
            "id": found.id,
            "version": found.version,
            "effective": {
                "from": found.effective_from.isoformat() if found.effective_from else None,
                "until": found.effective_until.isoformat() if found.effective_until else None,
            },
            "digest": found.digest,
        }
        assert found.id == path.relative_to(ROOT / "policies").with_suffix("").as_posix()
    assert decided >= 13  # the example's two versions and the regions


EXAMPLE = ROOT / "policies" / "example" / "resident-2025.policy"
CLAIMS = ROOT / "policies" / "example" / "claims.jsonl"


def test_eval_lines_carry_the_policy(capsys):
    expected = policydsl.load(EXAMPLE).provenance.to_json()
    status, out, err = run(capsys, "eval", EXAMPLE, CLAIMS)
    assert status == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 14 and all(record["policy"] == expected for record in records)


def test_batch_jsonl_records_carry_the_policy_from_every_worker(tmp_path, capsys):
    expected = policydsl.load(EXAMPLE).provenance.to_json()
    out = tmp_path / "decisions.jsonl"
    status, _, err = run(capsys, "batch", EXAMPLE, CLAIMS, "-o", out, "-j", "2", "--chunk-size", "3")
    assert status == 0, err
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 14 and all(record["policy"] == expected for record in records)


def test_eval_by_region_names_the_version_that_decided_each_claim(tmp_path, capsys):
    """Two dated versions of one region: each record carries the one in force on its date."""
    regions = DATA / "inherit" / "policies"
    p2025, p2026 = (policydsl.load(regions / "province" / f"p-{year}.policy").provenance for year in (2025, 2026))
    claims = tmp_path / "c.jsonl"
    rows = [("a", "2025-03-01"), ("b", "2026-03-01"), ("c", "2025-12-31")]
    claims.write_text("".join(json.dumps({"claim_id": i, "day": d, "amount": "1000", "level": 3}) + "\n" for i, d in rows), encoding="utf-8")
    status, out, err = run(capsys, "eval", "--region", "P1", "--policies", regions, claims)
    assert status == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["policy"] for r in records] == [p2025.to_json(), p2026.to_json(), p2025.to_json()]
    assert (p2025.id, p2025.version, p2026.id, p2026.version) == ("province/p-2025", "2025.1", "province/p-2026", "2026.1")
    assert records[0]["paid"] == "300.00" and records[1]["paid"] == "420.00"
    # stderr says once per version which file, id, version and digest it is
    said = [line for line in err.splitlines() if "using" in line]
    assert len(said) == 2
    assert said[0].endswith(f"as province/p-2025 2025.1 ({p2025.digest[:19]}...)") and "p-2025.policy (version 2025.1" in said[0]
    assert said[1].endswith(f"as province/p-2026 2026.1 ({p2026.digest[:19]}...)")


def test_eval_by_region_ids_are_paths_inside_the_folder_whatever_its_name(tmp_path, capsys):
    folder = tmp_path / "rules"
    shutil.copytree(DATA / "inherit" / "policies", folder)
    claims = tmp_path / "c.jsonl"
    claims.write_text('{"claim_id": "a", "day": "2025-03-01", "amount": "1000", "level": 3}\n', encoding="utf-8")
    status, out, err = run(capsys, "eval", "--region", "P1", "--policies", folder, claims)
    assert status == 0, err
    record = json.loads(out)
    assert record["policy"] == policydsl.load(DATA / "inherit" / "policies" / "province" / "p-2025.policy").provenance.to_json()


def test_diff_reports_carry_both_policies(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    v1, v2 = "policies/example/resident-2025.policy", "policies/example/resident-2025-v2.policy"
    status, out, _ = run(capsys, "diff", "--json", v1, v2, "policies/example/claims.jsonl")
    report = json.loads(out)
    assert report["old"]["policy"] == policydsl.load(v1).provenance.to_json()
    assert report["new"]["policy"] == policydsl.load(v2).provenance.to_json()


def test_a_failing_test_report_names_the_policy(tmp_path, capsys):
    root = copy_policies(tmp_path)
    tests_file = root / "sichuan" / "resident-2025.tests.json"
    tests = json.loads(tests_file.read_text(encoding="utf-8"))
    case = next(c for c in tests["tests"] if "expect" in c)
    output = next(iter(case["expect"]))
    case["expect"] = {output: "123456789.01"}  # deliberately wrong
    tests_file.write_text(json.dumps({"tests": [case]}), encoding="utf-8")
    found = policydsl.load(root / "sichuan" / "resident-2025.policy").provenance
    status, out, _ = run(capsys, "test", tests_file)
    assert status == 1
    assert f"    id sichuan/resident-2025, version {found.version}, digest {found.digest}\n" in out


# ---- (e) the version is free text; the digest is not ------------------------------------------------


def test_the_same_version_over_another_text_is_another_digest_and_diff_warns(tmp_path, capsys):
    """Sichuan at version 2025.1, before and after a one-byte edit of the national baseline it
    extends: the same version, the same decisions, two digests, and `diff` says so."""
    old_root, new_root = copy_policies(tmp_path / "old"), copy_policies(tmp_path / "new")
    change_one_byte_of_a_comment(new_root / f"{BASELINE}.policy")
    old, new = (policydsl.load(root / "sichuan" / "resident-2025.policy").provenance for root in (old_root, new_root))
    assert old.version == new.version and old.id == new.id and old.digest != new.digest
    claims = old_root / "sichuan" / "resident-2025.tests.json"
    status, out, err = run(capsys, "diff", "--json", old_root / "sichuan" / "resident-2025.policy", new_root / "sichuan" / "resident-2025.policy", claims)
    assert status == 0, err
    report = json.loads(out)
    warning = f"both policies say version {old.version} but their texts differ ({old.digest[:19]}... vs {new.digest[:19]}...): give the new text a new version"
    assert report["warnings"] == [warning]
    assert f"policydsl: warning: {warning}" in err.splitlines()
    assert report["claims"]["changed"] == 0


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_batch_csv_and_parquet_rows_carry_the_policy_columns(form, tmp_path, capsys):
    """The provenance as the columns `policy.id`, `policy.version`, `policy.effective.from`,
    `policy.effective.until`, `policy.digest` (empty/null for an open period)."""
    found = policydsl.load(EXAMPLE).provenance
    out = tmp_path / f"decisions.{form}"
    status, _, err = run(capsys, "batch", EXAMPLE, CLAIMS, "-o", out, "-j", "1")
    assert status == 0, err
    if form == "csv":
        import csv

        rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
        blank = ""
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        rows = pq.read_table(out).to_pylist()
        blank = None
    assert len(rows) == 14
    for row in rows:
        assert (row["policy.id"], row["policy.version"], row["policy.digest"]) == (found.id, found.version, found.digest)
        assert row["policy.effective.from"] == row["policy.effective.until"] == blank  # the example states no period
