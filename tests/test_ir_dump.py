"""The IR dump (`policydsl.ir.dump.render`, what `policydsl show --ir` prints): golden files
for the example province, for a city that extends its province (which extends the
national baseline) and for a policy with accumulators, and a dump of every bundled policy
that is stable across processes.

After reviewing a change to the dump, `pytest tests/test_ir_dump.py --snapshot-update`
rewrites `tests/snapshots/ir/`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import policydsl
from policydsl.ir import nodes as ir
from policydsl.ir.dump import render

from .conftest import DATA, ROOT, SNAPSHOTS

GOLDEN = ["example/resident-2025", "jiangxi-nanchang/resident-2025"]
BUNDLED = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "policies").glob("**/*.policy"))


@pytest.mark.parametrize("name", GOLDEN)
def test_ir_dump_snapshot(name, snapshot, monkeypatch):
    monkeypatch.chdir(ROOT)  # file names in the dump as written here: policies/...
    policy = policydsl.load(f"policies/{name}.policy")
    snapshot.snapshot_dir = SNAPSHOTS / "ir"
    snapshot.assert_match(render(policy), f"{name.replace('/', '-')}.txt")


def test_ir_dump_of_accumulators_snapshot(snapshot, monkeypatch):
    """Accumulators in the header (slot, person, year, opening) and each segment's accruals."""
    monkeypatch.chdir(DATA / "accumulators")
    snapshot.snapshot_dir = SNAPSHOTS / "ir"
    snapshot.assert_match(render(policydsl.load("carried.policy")), "accumulators-carried.txt")


def test_an_accumulator_without_adds_accrues_a_zero():
    text = (
        'policy "t"\n  as of day\ninput {\n  pid: int = 0\n  day: date\n}\n'
        "accumulator waited: months per pid over year from 10-01 opening 3 months\n"
        "rule r: months = waited\noutput r\n"
    )
    dumped = render(policydsl.loads(text, name="t.policy"))
    assert "accumulators\n  0 waited: months, slot 2, per pid (slot 0), year from 10-01, opening 3 at t.policy 7:13\n" in dumped
    assert "  input waited: months\n    the value before the claim of accumulator waited\n" in dumped
    assert dumped.endswith("  accrual 0 waited: months nothing added\n    #2 Const(0) months scale=0\n")


@pytest.mark.parametrize("path", BUNDLED)
def test_every_bundled_policy_dumps(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    policy = policydsl.load(path)
    text = render(policy)
    assert text == render(policy.program.ir)  # a Policy or its IR
    assert not re.search(r"0x[0-9a-f]{6,}|object at", text)
    program = policy.program.ir
    for definition in program.definitions.values():
        assert f"  {definition.kind} {definition.name}" in text
        for origin in definition.provenance:
            assert f"    {origin.role} {origin.file} {origin.span.line}:{origin.span.column}" in text
    for segment in program.segments:
        assert f"segment {segment.index}: {segment.period}" in text
        for rule in segment.rules:
            assert f"  rule {rule.slot} {rule.name}: {rule.type}" in text
            for node in ir.walk(rule.body):
                assert re.search(rf"^ +(\w+: )?#{node.id} {type(node).__name__}\b", text, re.M), node
        for number, (accumulator, accrual) in enumerate(zip(program.accumulators, segment.accruals)):
            assert f"  accrual {number} {accumulator.name}: {accumulator.type} " in text
            for node in ir.walk(accrual):
                assert re.search(rf"^ +(\w+: )?#{node.id} {type(node).__name__}\b", text, re.M), node
    for number, accumulator in enumerate(program.accumulators):
        assert f"  {number} {accumulator.name}: {accumulator.type}, slot {accumulator.index}, per {accumulator.per} " in text


def test_the_dump_is_the_same_in_another_process(monkeypatch):
    """No Python ids, addresses or hash order: a process with another hash seed agrees."""
    monkeypatch.chdir(ROOT)
    here = render(policydsl.load("policies/jiangxi-nanchang/resident-2025.policy"))
    code = "import sys, policydsl; from policydsl.ir.dump import render; sys.stdout.write(render(policydsl.load(sys.argv[1])))"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "POLICYDSL_NO_CACHE": "1"}
    there = subprocess.run(
        [sys.executable, "-c", code, "policies/jiangxi-nanchang/resident-2025.policy"], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert there == here


def test_the_dump_shows_each_kind_of_node():
    """Dated rules in several segments, computed sets, nested aggregates, every operation."""
    from .test_differential import EVERY

    text = render(policydsl.loads(EVERY, name="every.policy"))
    for expected in [
        "cuts 2024-01-01, 2024-07-01, 2025-07-01, 2026-01-01, 2027-01-01",
        "segment 0: the beginning to 2023-12-31\n  not in force: outside the policy's period",
        "    param cap = 10000",
        "    table rate = {1: 0.90, 2: 0.80, 3: 0.60}",
        "    tiers sched = [from 0 to 2000: 0.15, from 2000 up: 0.25]",
        "Divide money scale=? fails R401,R408",
        "NumberProduct number scale=0 fails R407,R408",
        "ShiftDate(-) date fails R402",
        "Aggregate(any b, depth 2) bool",
        "Aggregate(count a, depth 1, from 0) int scale=0",
        "Member(in) bool",
        "SetOf set of int",
        "Lookup(bonus) money scale=0 fails R403",  # the largest scale among its rows
        "Round(half_even) money scale=2 fails R408",
        "Loop(a, depth 1) Line",
    ]:
        assert expected in text, expected


def test_show_ir_prints_the_dump(monkeypatch):
    """`policydsl show --ir POLICY` is the command line's way to the same text."""
    monkeypatch.chdir(ROOT)
    path = "policies/example/resident-2025.policy"
    shown = subprocess.run([sys.executable, "-m", "policydsl", "show", "--ir", path], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.rstrip("\n") == render(policydsl.load(path)).rstrip("\n")
