"""Proofs of a policy's properties for every claim its schema admits, with z3 (issue 17).

`verify(Request(policy, ...))` -> `Report`: each declared invariant, and on request
`nonnegative`, `monotone` and `refines` properties, proved, failed with a counterexample
claim that the engine confirms, or unknown with the reason. Modules: `values.py` (the
symbolic values and their exact arithmetic), `smt.py` (IR -> z3 terms over a symbolic
claim), `claims.py` (models as claim JSON), `properties.py` (the questions asked and the
engine's confirmation), `report.py` (the result as data, text and files),
`agreement.py` (the encoding evaluated on concrete claims, against the engine).
`policydsl verify` (cli/verify.py) is the command.
"""

from policydsl.verify.properties import Request, RequestError, verify
from policydsl.verify.report import Outcome, Report, write_counterexamples

__all__ = ["Outcome", "Report", "Request", "RequestError", "verify", "write_counterexamples"]
