"""L503 counts every kind of definition: `function` and `flows` too (they were left out)."""

from policydsl.syntax import limits
from policydsl.syntax.source import SourceFile


def _codes(text: str) -> list[str]:
    return [d.code for d in limits.check_text(SourceFile("many.policy", text))]


def test_functions_and_flows_count_towards_the_definition_limit():
    many = limits.MAX_DEFINITIONS + 1
    functions = "".join(f"function f{i}(x: money): money = x\n" for i in range(many))
    assert "L503" in _codes(functions)
    flows = "".join(f"flows a{i}\n" for i in range(many))
    assert "L503" in _codes(flows)
    under = "".join(f"function f{i}(x: money): money = x\n" for i in range(limits.MAX_DEFINITIONS))
    assert "L503" not in _codes(under)
