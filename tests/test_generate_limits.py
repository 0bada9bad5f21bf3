"""`policydsl generate` keeps money inside a field's declared limits (it once wrote 53,358.79
for `credit: money <= 50_000 yuan`, a claim the facts reader then refused)."""

from decimal import Decimal

import policydsl
from policydsl.tools.generate import generate

POLICY = """\
policy "limits"
input {
  claim_id: text
  credit: money <= 50_000 yuan
  fee: money in 100 yuan .. 199.99 yuan
  paid_so_far: money > 10 yuan
}
rule paid: money = credit + fee + paid_so_far
output paid
"""


def test_generated_money_stays_inside_declared_limits():
    policy = policydsl.loads(POLICY)
    claims = list(generate(policy, 3000, seed=3))
    credits = [Decimal(c["credit"]) for c in claims]
    fees = [Decimal(c["fee"]) for c in claims]
    floors = [Decimal(c["paid_so_far"]) for c in claims]
    assert max(credits) <= 50_000 and min(credits) >= 0
    assert Decimal(100) <= min(fees) and max(fees) <= Decimal("199.99")
    assert min(floors) > 10
    assert len(set(fees)) > 100  # drawn between the limits, not piled on one edge
    for claim in claims[:200]:  # every claim is one the policy decides
        assert policy.evaluate(claim).outputs["paid"] == Decimal(claim["credit"]) + Decimal(claim["fee"]) + Decimal(claim["paid_so_far"])
