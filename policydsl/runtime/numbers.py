"""Bounds on numbers, and the decimal contexts that every computation runs under.

Takes nothing; gives the limits that the facts reader and the lowering of policy text
check numbers against (`problem`), and three `decimal.Context` objects that the runtime
and the checker's constant evaluator use instead of whatever context the caller set:

- `EXACT`: for `+`, `-`, `*`, comparisons and sums. Inexact, Overflow, Underflow and
  InvalidOperation trap, so a result is exact or the claim fails (R408); nothing is ever
  rounded silently. Read numbers are bounded (below), so exact results stay small.
- `ROUNDING`: for `round(x, mode)` (quantize), the one place a policy asks for rounding.
- `QUOTIENT`: for `a / b`, whose exact value may have no end: rounded half-even to
  `QUOTIENT_DIGITS` significant digits, leaving room below `PRECISION` for what follows.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

SIGNIFICANT_DIGITS = 40  # digits a number read from claim facts or policy text may carry
FRACTION_DIGITS = 40  # digits after the decimal point a read number may carry (1E-41 is refused)
MAGNITUDE_DIGITS = 20  # digits before the point a read number (not money) may carry: below 10**20
MONEY_LIMIT = Decimal(10) ** 15  # money read from facts or policy text is below a quadrillion yuan
INT_LIMIT = 10**18  # whole numbers (counts, years, months) stay within ±10**18 (R407)
PRECISION = 200  # significant digits an exact result may need; more is R408
QUOTIENT_DIGITS = 50  # significant digits of a quotient (rounded half-even)
EXPONENT_LIMIT = 999  # computed values stay between 1E-999 and 1E+999 (R408 past that)
# `unlimited` in policy text (no cap): Decimal infinity, so min(x, unlimited) is x, and
# unlimited + x, unlimited - x and unlimited * a positive ratio are unlimited. An operation
# with no answer (unlimited - unlimited, unlimited * 0) is InvalidOperation: R408.
UNLIMITED = Decimal("Infinity")

_TRAPS = [decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Underflow]

# capitals and clamp are given too: a field left out is copied from decimal.DefaultContext,
# which a caller may have changed before importing policydsl.
EXACT = decimal.Context(
    prec=PRECISION, rounding=decimal.ROUND_HALF_EVEN, Emax=EXPONENT_LIMIT, Emin=-EXPONENT_LIMIT,
    capitals=1, clamp=0, traps=[*_TRAPS, decimal.Inexact], flags=[],
)
ROUNDING = decimal.Context(
    prec=PRECISION, rounding=decimal.ROUND_HALF_EVEN, Emax=EXPONENT_LIMIT, Emin=-EXPONENT_LIMIT,
    capitals=1, clamp=0, traps=list(_TRAPS), flags=[],
)
QUOTIENT = decimal.Context(
    prec=QUOTIENT_DIGITS, rounding=decimal.ROUND_HALF_EVEN, Emax=EXPONENT_LIMIT, Emin=-EXPONENT_LIMIT,
    capitals=1, clamp=0, traps=list(_TRAPS), flags=[],
)


def problem(value: Decimal, what: str = "number") -> str | None:
    """Why a number read from facts or policy text is out of bounds, or None if it is fine.

    Reads the digits only (no arithmetic), so it is safe for any Decimal, `1E+999999999`
    and `1E-999999999` included.
    """
    if not value.is_finite():
        return f"a {what} must be a finite number"
    _, digits, exponent = value.as_tuple()
    while len(digits) > 1 and digits[-1] == 0:  # 1.500 has 2 significant digits
        digits = digits[:-1]
        exponent += 1
    if len(digits) > SIGNIFICANT_DIGITS:
        return f"a {what} may have at most {SIGNIFICANT_DIGITS} significant digits"
    if exponent < -FRACTION_DIGITS:
        return f"a {what} may have at most {FRACTION_DIGITS} digits after the decimal point"
    if any(digits) and len(digits) + exponent > MAGNITUDE_DIGITS:
        return f"a {what} must be below 10^{MAGNITUDE_DIGITS}"
    return None
