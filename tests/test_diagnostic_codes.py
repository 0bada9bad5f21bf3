"""Every diagnostic code the package can emit is registered (policydsl/diagnostics/codes.py)
and documented in docs/diagnostics.md, which is written from the registry."""

from __future__ import annotations

import re

import pytest

import policydsl
from policydsl.diagnostics import codes

from .conftest import ROOT

CODE = re.compile(r"""["'\[]([PCFRLWU]\d{3})["'\]]""")


def emitted_codes() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "policydsl").rglob("*.py"):
        if path.name == "codes.py" and path.parent.name == "diagnostics":
            continue  # the registry itself
        found |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_emitted_code_is_documented():
    page = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### .*?([PCFRLWU]\d{3}): ", page, re.M))
    missing = sorted(emitted_codes() - documented)
    assert not missing, f"undocumented codes: {missing}"
    assert documented == set(codes.CODES)


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
