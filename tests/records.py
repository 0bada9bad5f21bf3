"""Helpers for tests that compare decision records: a record without the keys every
decision record carries besides its outputs (`policy`, and `accumulators` for a policy
that carries any), which tests of other things assert separately."""

RECORD_KEYS = ("policy", "accumulators")


def outputs(record: dict) -> dict:
    """`record` without `policy` and `accumulators`."""
    return {key: value for key, value in record.items() if key not in RECORD_KEYS}
