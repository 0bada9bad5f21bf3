"""The command line: help, exit codes, error records in place, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from policydsl.cli.main import main

from .conftest import DATA, EXAMPLE, EXAMPLE_POLICY, example_claims


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "policydsl", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", [[], ["check"], ["eval"], ["explain"]])
def test_help_says_what_each_command_does(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "usage: policydsl" in out
    if command:
        assert {"check": "check", "eval": "Evaluate claims", "explain": "explain every output"}[command[0]] in out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


@pytest.mark.parametrize(
    "args,code,message",
    [
        (["eval", "missing.policy", "x.json"], 2, "no such policy file"),  # a missing file is usage, as for claims
        (["eval", str(EXAMPLE_POLICY), "missing.jsonl"], 2, "no such claims file"),
        (["check", "missing.policy"], 2, "no such policy file"),
        (["eval", str(DATA / "broken" / "cycle.policy"), str(EXAMPLE / "claims.jsonl")], 1, "depends on itself"),
        (["explain", str(EXAMPLE_POLICY), str(DATA / "facts" / "bad-claims.jsonl")], 1, "invalid facts"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_user_errors_never_print_a_traceback(args, code, message):
    result = run(*args)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert message in result.stdout + result.stderr


def test_bad_records_keep_their_position_and_the_run_goes_on():
    good = json.dumps(example_claims()[0], default=str)
    stdin = "\n".join([good, "{not json", '{"claim_id": "c-3"}', "", good]) + "\n"
    result = run("eval", str(EXAMPLE_POLICY), "-", stdin=stdin)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1
    assert [r.get("claim_id") for r in records] == ["ex-01-county-stay", None, "c-3", "ex-01-county-stay"]
    assert records[1]["line"] == 2 and "malformed JSON" in records[1]["error"]
    assert records[2]["errors"][0] == {"path": "person", "message": "missing (required field)", "code": "F301"}
    assert "2 claims could not be decided" in result.stderr


def test_json_array_of_claims(tmp_path, capsys):
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(example_claims()[:3], default=str), encoding="utf-8")
    assert main(["eval", str(EXAMPLE_POLICY), str(path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_explain_json_carries_citations(tmp_path, capsys):
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(example_claims()[1], default=str), encoding="utf-8")
    assert main(["explain", "--json", str(EXAMPLE_POLICY), str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    excluded = next(step for step in data["steps"] if step["name"] == "excluded")
    assert excluded["value"] == "950.50"
    third_party = next(d for d in excluded["details"] if "third_party" in d["text"])
    assert third_party["citations"] and third_party["reasons"] == ["Costs a third party is liable for are not paid by the fund"]


def test_check_reports_many_files(capsys):
    status = main(["check", str(EXAMPLE_POLICY), str(DATA / "broken" / "table_key.policy")])
    out = capsys.readouterr().out
    assert status == 1
    assert f"{EXAMPLE_POLICY}: ok" in out and "error[C208]" in out


def test_check_json_gives_each_files_diagnostics_as_data():
    result = run("check", "--json", str(DATA / "broken" / "duplicate_definition.policy"), "missing.policy", str(EXAMPLE_POLICY))
    assert result.returncode == 2  # the missing file (usage) outranks the broken one (findings)
    broken, missing, clean = [json.loads(line) for line in result.stdout.splitlines()]
    assert broken["ok"] is False and broken["file"].endswith("duplicate_definition.policy")
    (duplicate,) = [d for d in broken["diagnostics"] if d["code"] == "C201"]
    assert (duplicate["severity"], duplicate["stage"], duplicate["line"], duplicate["column"]) == ("error", "check", 4, 7)
    assert duplicate["related"] == [{"message": "first defined here", "file": duplicate["file"], "line": 2, "column": 7, "end_line": 2, "end_column": duplicate["related"][0]["end_column"]}]
    assert missing["ok"] is False and [(d["code"], d["path"]) for d in missing["diagnostics"]] == [("L500", "missing.policy")]
    assert clean == {"file": str(EXAMPLE_POLICY), "ok": True, "diagnostics": []}
    assert result.stderr == ""


def test_version_prints_the_packages_version():
    from importlib.metadata import version

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"policydsl {version('policydsl')}"


def test_explain_one_claim_of_a_file_by_its_id():
    result = run("explain", str(EXAMPLE_POLICY), str(EXAMPLE / "claims.jsonl"), "--claim", "ex-07-major-tiers")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Decision for claim ex-07-major-tiers") and result.stdout.count("Decision for claim") == 1
    missing = run("explain", str(EXAMPLE_POLICY), str(EXAMPLE / "claims.jsonl"), "--claim", "ex-07-major-tiers", "--claim", "nope")
    assert missing.returncode == 2 and "no claim with claim_id nope" in missing.stderr


def test_eval_of_an_unknown_region_says_so_once_and_is_a_usage_error():
    result = run("eval", "--region", "999999", "--policies", str(EXAMPLE.parent), str(EXAMPLE / "claims.jsonl"))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("no policy for region 999999") == 1 and "340300" in result.stderr


def test_eval_usage_shows_the_two_forms_it_accepts():
    result = run("eval", "--help")
    usage = result.stdout.split("\n\n")[0]
    assert "POLICY CLAIMS" in usage and "--region CODE" in usage and "[[POLICY] CLAIMS ...]" not in usage


@pytest.mark.parametrize("command", ["eval", "explain"])
def test_eval_and_explain_read_a_tests_file_as_diff_does(command):
    """A tests file's claims, each decided as of its case's `as_of`: the national baseline's
    tests hold a case dated before its values changed, which a plain date would decide wrongly."""
    from policydsl.tools import testing

    policy = EXAMPLE.parent / "national" / "baseline-2025.policy"
    cases = testing.read_tests(testing.tests_path_for(policy)).cases
    assert any(case.as_of for case in cases)
    result = run(command, str(policy), str(testing.tests_path_for(policy)))
    assert "Traceback" not in result.stderr
    if command == "explain":
        assert result.stdout.count("Decision for claim") == sum(1 for case in cases if case.expect_error is None)
        return
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(cases)
    for case, record in zip(cases, records):
        if case.expect_error is not None:
            assert case.expect_error in json.dumps(record), case.name
            continue
        for name, expected in case.expect.items():
            if name != "accumulators":
                assert str(record[name]) == str(expected), (case.name, name)
