"""AST nodes (issue 10): stable ids from lowering, and the spans of names, keys and header
clauses kept at lowering instead of searched for in the text."""

from __future__ import annotations

import subprocess
import sys

import attrs
import pytest

import policydsl
from policydsl.syntax import nodes as n

from .conftest import ROOT

POLICIES = sorted((ROOT / "policies").rglob("*.policy"))


def _nodes(value):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(item)
        elif attrs.has(type(item)) and hasattr(item, "nid"):
            yield item
            stack.extend(getattr(item, f.name) for f in attrs.fields(type(item)) if not f.name.endswith("span") and f.name != "nid")


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: str(p.relative_to(ROOT / "policies")))
def test_every_node_has_a_key_of_its_own(path):
    policy = policydsl.load(path)
    keys = [n.key(node) for node in _nodes(policy.env.policy)]
    assert all(nid for _, nid in keys)
    assert len(keys) == len(set(keys))


def test_node_ids_are_the_same_in_another_process():
    path = ROOT / "policies" / "example" / "resident-2025.policy"
    code = (
        "import sys, policydsl; p = policydsl.load(sys.argv[1]);"
        "print([(d.name, d.nid, d.body.nid) for d in p.env.policy.definitions if hasattr(d, 'body')])"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True, env={"POLICYDSL_NO_CACHE": "1", "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] and "(" in runs[0]


def test_names_keys_and_header_clauses_keep_their_spans():
    text = '''policy "t"
  version "1"
  version "2"
input {
  months_used: months
}
output r
table rate: int -> ratio {
  1: 90%
  default: 50%
}
rule r: ratio = rate[1]
'''
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, "t.policy")
    (twice,) = raised.value.diagnostics
    assert twice.code == "P116" and (twice.span.line, twice.span.column) == (3, 3)
    from policydsl.syntax.parser import parse_tree
    from policydsl.syntax.lower import lower
    from policydsl.syntax.source import SourceFile

    source = SourceFile("t.policy", text.replace('  version "2"\n', ""))
    policy, _ = lower(parse_tree(source), source)
    by_name = {getattr(d, "name", None): d for d in policy.definitions}
    assert by_name["rate"].name_span.text == "rate" and by_name["rate"].name_span.line == 7
    assert by_name["r"].name_span.text == "r" and (by_name["r"].name_span.line, by_name["r"].name_span.column) == (11, 6)
    assert [row.key_span.text for row in by_name["rate"].rows] == ["1", "default"]
    (field,) = next(d for d in policy.definitions if isinstance(d, n.InputDef)).fields
    assert field.name_span.text == "months_used"
    assert [clause for clause, _ in policy.header.clause_spans] == ["title", "version"]
    assert dict(policy.header.clause_spans)["version"].text == 'version "1"'
