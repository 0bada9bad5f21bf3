"""Stage 3: AST -> checked policy (see `passes.py` for the ordered passes)."""

from __future__ import annotations

from policydsl.syntax import nodes as n
from policydsl.syntax.source import SourceFile
from policydsl.check.env import CheckEnv, Symbol
from policydsl.check.passes import PASSES, resolve_type

__all__ = ["CheckEnv", "Symbol", "check", "resolve_type"]


def check(policy: n.PolicyFile, source: SourceFile, bounds=()) -> CheckEnv:
    """Run every pass over `policy` (already linked); the diagnostics are in the returned environment.

    `bounds`: (overriding param, parent param with floor/ceiling) pairs from the linker.
    """
    env = CheckEnv(source, policy, bounds=list(bounds))
    for check_pass in PASSES:
        check_pass(env)
    return env
