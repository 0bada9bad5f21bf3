"""The benchmark's pieces: the yardstick agrees with the engine, the benchmark runs, and the
load cache is safe (a bad or foreign entry is a silent miss, never code run)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from decimal import Decimal

import pytest

from policydsl.link import cache
from policydsl.api import analyze
from policydsl.syntax.source import SourceFile

from .conftest import EXAMPLE_POLICY, ROOT, example_claims, example_expected

sys.path.insert(0, str(ROOT / "bench"))
import generate_claims  # noqa: E402
import handwritten  # noqa: E402


def as_text(outputs: dict) -> dict:
    return {name: str(value) for name, value in outputs.items()}


def test_yardstick_gives_the_example_province_expected_outputs():
    for claim, expected in zip(example_claims(), example_expected()):
        outputs = handwritten.evaluate(claim)
        shown = {k: (v if isinstance(v, bool) else str(v)) for k, v in outputs.items()}
        assert {"claim_id": claim["claim_id"], **shown} == expected


def test_yardstick_and_engine_agree_exactly(example_policy):
    claims = list(generate_claims.generate(3_000, seed=11)) + example_claims()
    for claim in claims:
        assert as_text(example_policy.evaluate(claim).outputs) == as_text(handwritten.evaluate(claim)), claim["claim_id"]


def test_generated_claims_cover_the_rules(example_policy):
    seen = {"waiting": 0, "major": 0, "assistance": 0, "excluded": 0, "capped": 0}
    categories, levels = set(), set()
    for claim in generate_claims.generate(2_000, seed=2):
        outputs = example_policy.evaluate(claim).outputs
        categories.add(claim["person"]["category"])
        levels.add(claim["hospital_level"])
        seen["waiting"] += outputs["in_waiting"]
        seen["major"] += outputs["major"] > 0
        seen["assistance"] += outputs["assistance"] > 0
        seen["excluded"] += outputs["excluded"] > 0
        seen["capped"] += Decimal(claim["ytd_basic_paid"]) >= 140_000
    assert categories == set(generate_claims.CATEGORIES) and levels == {1, 2, 3}
    assert all(count >= 20 for count in seen.values()), seen
    assert list(generate_claims.generate(5, seed=2)) == list(generate_claims.generate(5, seed=2))


def test_benchmark_smoke_mode_runs(tmp_path):
    env = dict(os.environ, POLICYDSL_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke"], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ratio engine/yardstick:" in result.stdout
    for needle in ("claims/s", "p50", "p99", "explanation()", "cold: new process", "warm: same process", "peak memory"):
        assert needle in result.stdout


def test_integer_fen_versions_agree_with_the_yardstick_and_refuse_what_the_engine_refuses():
    import ceiling

    claims = list(generate_claims.generate(1_000, seed=5)) + example_claims()
    for claim in claims:
        expected = as_text(handwritten.evaluate(claim))
        assert as_text(ceiling.checked(claim)) == expected == as_text(ceiling.lean(claim)) == as_text(ceiling.checked_decimal(claim)), claim["claim_id"]
    claim = example_claims()[0]
    for bad in ({"ytd_basic_paid": "-1.00"}, {"ytd_basic_paid": "1.005"}, {"ytd_basic_paid": " 1"}, {"hospital_level": "1"}, {"extra": 1}):
        for version in (ceiling.checked, ceiling.checked_decimal):
            with pytest.raises(ceiling.Refused):
                version({**claim, **bad})
    with pytest.raises(ceiling.Refused):
        ceiling.lean({**claim, "ytd_basic_paid": "-1.00"})


def test_ceiling_smoke_mode_runs():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "ceiling.py"), "--smoke"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "agree with the yardstick on 300 of 300 claims" in result.stdout and "Decimal, the engine's checks" in result.stdout
    assert "int fen, the engine's checks" in result.stdout and "yardstick / it:" in result.stdout


# ---- the load cache -------------------------------------------------------------------------


def lowered(name: str = "a.policy"):
    from policydsl.syntax.lower import lower
    from policydsl.syntax.parser import parse_tree

    source = SourceFile(name, EXAMPLE_POLICY.read_text(encoding="utf-8"))
    return source, lower(parse_tree(source), source)


def entry(path):
    return next(path.glob("ast-*.pickle"))


def test_an_ast_round_trips_through_the_cache_and_points_at_the_new_source(cache_dir):
    source, value = lowered()
    cache.store_ast(source, value)
    assert oct(cache_dir.stat().st_mode & 0o777) == "0o700"
    cache.clear_memory()
    again = SourceFile("elsewhere/b.policy", source.text)
    policy_file, diagnostics = cache.load_ast(again)
    assert policy_file == value[0] and diagnostics == value[1]
    assert policy_file.definitions[0].span.source is again  # diagnostics name the file loaded
    env, found = analyze(again)
    assert env is not None and not [d for d in found if d.is_error]


def test_the_key_covers_every_file_and_the_code():
    one = cache.content_key([("", "rule a = 1")])
    assert one == cache.content_key([("", "rule a = 1")])
    assert one != cache.content_key([("", "rule a = 2")])
    assert one != cache.content_key([("", "rule a = 1"), ("lib.policy", "")])
    assert cache.content_key([("a", "bc")]) != cache.content_key([("ab", "c")])


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign class", "empty"])
def test_a_bad_entry_is_a_silent_miss(cache_dir, damage, tmp_path):
    source, value = lowered()
    cache.store_ast(source, value)
    cache.clear_memory()
    path = entry(cache_dir)
    data = path.read_bytes()
    marker = tmp_path / "pwned"
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(cache.FORMAT + b"\x80\x05garbage")
    elif damage == "foreign class":

        class Exploit:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))

        path.write_bytes(cache.FORMAT + pickle.dumps(Exploit()))
    else:
        path.write_bytes(b"")
    assert cache.load_ast(source) is None
    assert not marker.exists()


def test_entries_others_could_write_are_not_read(cache_dir):
    source, value = lowered()
    cache.store_ast(source, value)
    cache.clear_memory()
    path = entry(cache_dir)
    path.chmod(0o666)
    assert cache.load_ast(source) is None
    path.chmod(0o600)
    assert cache.load_ast(source) is not None
    cache.clear_memory()
    cache_dir.chmod(0o777)  # a directory anyone can write to is not used at all
    try:
        assert cache.directory() is None and cache.load_ast(source) is None
    finally:
        cache_dir.chmod(0o700)


def test_the_cache_can_be_turned_off(cache_dir, monkeypatch):
    monkeypatch.setenv("POLICYDSL_NO_CACHE", "1")
    source, value = lowered()
    cache.store_ast(source, value)
    assert cache.load_ast(source) is None and not cache_dir.exists()


def test_default_directory_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("POLICYDSL_CACHE_DIR", raising=False)
    monkeypatch.delenv("POLICYDSL_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.directory() == tmp_path / "xdg" / "policydsl"
