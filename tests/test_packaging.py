"""The grammar sits outside the package (grammar/); an installed wheel must carry it, and the
parser tables built from it (policydsl/syntax/grammar_tables.json), which it loads without building."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from .conftest import ROOT


def test_wheel_contains_the_grammar(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("policydsl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = archive.read("policydsl/syntax/policy.lark").decode("utf-8")
        tables = archive.read("policydsl/syntax/grammar_tables.json")
    assert packaged == (ROOT / "grammar" / "policy.lark").read_text(encoding="utf-8")
    assert tables == (ROOT / "policydsl" / "syntax" / "grammar_tables.json").read_bytes()


def test_installed_wheel_parses_a_policy(tmp_path):
    """Install the wheel into a separate target folder and load the example policy from there."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "w"), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "w").glob("policydsl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import policydsl, pathlib;"
        "assert pathlib.Path(policydsl.__file__).parent == pathlib.Path(sys.argv[1]) / 'policydsl';"
        "from policydsl.syntax import parser; assert parser.tables_status() == 'shipped', parser.tables_status();"
        "p = policydsl.load(sys.argv[2]); print(p.title)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "site"), str(ROOT / "policies" / "example" / "resident-2025.policy")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Example province resident medical insurance"
