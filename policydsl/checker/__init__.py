"""Stage 3: AST -> checked policy (see `passes.py` for the ordered passes)."""

from __future__ import annotations

from .. import nodes as n
from ..source import SourceFile
from .env import CheckEnv, Symbol
from .passes import PASSES, resolve_type

__all__ = ["CheckEnv", "Symbol", "check", "resolve_type"]


def check(policy: n.PolicyFile, source: SourceFile) -> CheckEnv:
    """Run every pass over `policy`; the diagnostics are in the returned environment."""
    env = CheckEnv(source, policy)
    for check_pass in PASSES:
        check_pass(env)
    return env
