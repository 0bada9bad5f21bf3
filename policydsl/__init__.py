"""policydsl: health-insurance rules written as text, checked, and run on claims.

    >>> import policydsl
    >>> policy = policydsl.load("policies/example/resident-2025.policy")
    >>> decision = policy.evaluate(facts)         # facts: a dict, e.g. from JSON
    >>> decision.outputs["basic"]                  # Decimal('8625.00')
    >>> print(decision.explain())                  # every number with its clause
"""

from policydsl.diagnostics.model import Diagnostic, EvaluationError, FactError, FactsError, PolicyError, PolicydslError
from policydsl.api import Decision, Policy, load, loads
from policydsl.tools.carry import carry

__all__ = [
    "Decision",
    "Diagnostic",
    "EvaluationError",
    "FactError",
    "FactsError",
    "Policy",
    "PolicyError",
    "PolicydslError",
    "carry",
    "load",
    "loads",
]
__version__ = "0.1.0"
