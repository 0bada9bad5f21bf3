"""A policies folder in a temporary directory: a parent policy and a child that extends it,
for tests of what a policy inherits."""

from __future__ import annotations

from pathlib import Path


def parent_and_child(tmp_path: Path, parent_text: str, child_body: str, parent: str = "base/p", child: str = "kid/k", child_header: str = "") -> Path:
    """Write policies/<parent>.policy and policies/<child>.policy (a header extending the
    parent, `child_header` clauses, then `child_body`); the child's path."""
    root = tmp_path / "policies"
    parent_path, child_path = root / f"{parent}.policy", root / f"{child}.policy"
    parent_path.parent.mkdir(parents=True, exist_ok=True)
    child_path.parent.mkdir(parents=True, exist_ok=True)
    parent_path.write_text(parent_text, encoding="utf-8")
    child_path.write_text(f'policy "{child}"\n{child_header}  extends "{parent}"\n' + child_body, encoding="utf-8")
    return child_path
