"""Every diagnostic code the package can emit is documented in docs/diagnostics.md."""

from __future__ import annotations

import re

import pytest

import policydsl

from .conftest import ROOT

CODE = re.compile(r"""["']([PCFRLW]\d{3})["']""")


def emitted_codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "policydsl").rglob("*.py"):
        codes |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return codes


def test_every_emitted_code_is_documented():
    documented = set(re.findall(r"^\| ([PCFRLW]\d{3}) \|", (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8"), re.M))
    missing = sorted(emitted_codes() - documented - {"F300"})  # F300: the FactError default, never emitted
    assert not missing, f"undocumented codes: {missing}"


@pytest.mark.parametrize(
    "text,code",
    [
        ('policy "x" as of day\ninput { day: money  a: money }\nparam r = 1% from 2025-01-01\noutput a\n', "C217"),
        ('policy "x" as of dya\ninput { day: date  a: money }\nparam r = 1% from 2025-01-01\noutput a\n', "C217"),
        (
            'policy "x" as of day\ninput { day: date  a: money = cap }\nparam cap = 1 yuan from 2025-01-01\noutput a\n',
            "C218",
        ),
    ],
)
def test_date_field_and_default_checks(text, code):
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text)
    assert code in [d.code for d in raised.value.diagnostics]


def test_child_cannot_redeclare_an_input_field(tmp_path):
    root = tmp_path / "policies"
    root.mkdir()
    (root / "base.policy").write_text("input { a: money }\noutput a\n")
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads('policy "c" extends "base"\ninput { a: money  b: money }\noutput b\n', "c.policy", root=root)
    assert [d.code for d in raised.value.diagnostics] == ["C242"]
