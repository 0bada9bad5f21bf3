"""Option values shared by the commands: text of an argument in, the value out, or an
`argparse.ArgumentTypeError` that argparse reports as a usage error (exit 2)."""

from __future__ import annotations

import argparse
import datetime


def date_argument(text: str) -> datetime.date:
    """A date option (`--date`, `--as-of`): YYYY-MM-DD."""
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
