"""Stage 3: linked AST -> `Checked` policy (frozen), with every diagnostic found.

The passes (`passes.py`, in order) fill a scratch `CheckEnv`; `check` returns the frozen
`Checked` made from it, which is all that later stages read.
"""

from __future__ import annotations

from policydsl.check.env import CheckEnv, Symbol
from policydsl.check.passes import PASSES, resolve_type
from policydsl.check.result import Checked
from policydsl.syntax import nodes as n
from policydsl.syntax.source import SourceFile

__all__ = ["CheckEnv", "Checked", "Symbol", "check", "resolve_type"]


def check(policy: n.PolicyFile, source: SourceFile, bounds=(), linked=None) -> Checked:
    """Run every pass over `policy` (already linked); the diagnostics are in the result.

    `bounds`: (overriding param, parent param with floor/ceiling) pairs from the linker;
    `linked`: the linker's provenance (`link.inherit.Linked`), kept in the result.
    """
    env = CheckEnv(source, policy, bounds=list(bounds))
    env.linked = linked
    for check_pass in PASSES:
        check_pass(env)
    return Checked.from_env(env, linked)
