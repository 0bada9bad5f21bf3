"""Family sharing of a personal account (issue 18): a balance keyed by the account's owner,
shared in date order by every claim that draws on it (policies/example/worker-2025.policy)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from policydsl.api import load
from policydsl.diagnostics.model import FactsError
from policydsl.tools.carry import Carrier, carry

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies/example/worker-2025.policy"
FAMILY = ROOT / "policies/example/worker-family.jsonl"


def claims():
    return [json.loads(line) for line in FAMILY.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def policy():
    return load(str(POLICY))


def test_two_key_fields_are_carried_by_components(policy):
    carrier = Carrier(policy)
    assert carrier.shared and carrier.per_fields == ("person_id", "account_owner_id")


def test_shared_account_in_date_order(policy):
    decisions = carry(policy, claims())
    by_id = {c["claim_id"]: d for c, d in zip(claims(), decisions)}
    balance = lambda d: (d.accumulators["account_balance"].before, d.accumulators["account_balance"].after)
    # the father's own claim opens his account at 900 and draws 300
    assert balance(by_id["w1"]) == (Decimal("900.00"), Decimal("600.00"))
    # the son and the mother draw on it the same day: input order
    assert balance(by_id["w2"]) == (Decimal("600.00"), Decimal("350.00"))
    assert balance(by_id["w3"]) == (Decimal("350.00"), Decimal("110.00"))
    # the son's own account is a balance of its own, exhausted by his claim
    assert balance(by_id["w4"]) == (Decimal("50.00"), Decimal("0.00"))
    assert by_id["w4"].outputs["patient_pays"] == Decimal("10.00")
    # an account that has not bound the patient: the claim is refused at that field, and the
    # account's balance is untouched by it
    refused = by_id["w5"]
    assert isinstance(refused, FactsError) and [(e.code, e.path) for e in refused.errors] == [("F304", "account_bound")]
    for claim, d in zip(claims(), decisions):  # the layers add up to the bill (also an invariant of the policy)
        if isinstance(d, FactsError):
            continue
        o = d.outputs
        assert o["patient_pays"] + o["account_paid"] + o["fund"] == sum(Decimal(i["amount"]) for i in claim["items"])


def test_order_of_input_does_not_change_the_balances(policy):
    forward = carry(policy, claims())
    backward = carry(policy, list(reversed(claims())))[::-1]
    # w2 and w3 are on one day: reversed input decides w3 first, so only they may differ
    for one, two, claim in zip(forward, backward, claims()):
        if claim["claim_id"] not in ("w2", "w3"):
            assert getattr(one, "outputs", str(one)) == getattr(two, "outputs", str(two))


def test_batch_carry_matches_carry(policy, tmp_path):
    out = tmp_path / "out.jsonl"
    done = subprocess.run([sys.executable, "-m", "policydsl", "batch", str(POLICY), str(FAMILY), "--carry", "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # findings: w5 is refused
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(claims())
    for row, decision in zip(rows, carry(policy, claims())):
        if isinstance(decision, FactsError):
            assert [(e["code"], e["path"]) for e in row["errors"]] == [("F304", "account_bound")], row
            continue
        assert Decimal(row["accumulators"]["account_balance"]["after"]) == decision.accumulators["account_balance"].after
        assert Decimal(row["account_paid"]) == decision.outputs["account_paid"]


def test_relation_outside_the_set_names_the_field(policy):
    claim = dict(claims()[1], account_relation="cousin", account_balance="100")
    with pytest.raises(FactsError) as raised:
        policy.evaluate(claim)
    assert "account_relation" in str(raised.value)


def refusal(policy, claim):
    with pytest.raises(FactsError) as raised:
        policy.evaluate(claim)
    (error,) = raised.value.errors
    return error.code, error.path, error.message


def test_an_unbound_relatives_account_is_refused_at_account_bound(policy):
    claim = dict(claims()[1], account_bound=False, account_balance="600")
    assert refusal(policy, claim) == (
        "F304", "account_bound",
        'the policy requires account_owner_id = "" or account_relation = self or account_bound '
        '(account_bound is false, account_owner_id is "father", account_relation is parent): '
        "A relative's account pays only for a patient its owner has bound to it (spouse, parent or child)",
    )
    # bound, the same claim is decided and the father's account pays
    assert policy.evaluate(dict(claim, account_bound=True)).outputs["account_paid"] == Decimal("250.00")


def test_own_account_must_be_the_patients(policy):
    own = dict(claims()[3], ytd_fund_paid="0")  # w4: the son's own account
    assert policy.evaluate(own).outputs["account_paid"] == Decimal("50.00")
    code, path, message = refusal(policy, dict(own, account_owner_id="father"))
    assert (code, path) == ("F304", "account_owner_id")
    assert message.startswith('the policy requires account_owner_id = "" or account_relation != self or account_owner_id = person_id')
    assert '(account_owner_id is "father", account_relation is self, person_id is "son")' in message
    # an account the patient owns named with a relative's relation: refused at the relation
    code, path, _ = refusal(policy, dict(claims()[1], account_owner_id="son", account_balance="600"))
    assert (code, path) == ("F304", "account_relation")


def test_a_claim_naming_no_account_is_paid_by_the_fund_and_in_cash(policy):
    claim = dict(claims()[1], account_relation="parent", account_bound=False, account_balance="600")
    del claim["account_owner_id"]
    outputs = policy.evaluate(claim).outputs
    assert (outputs["fund"], outputs["account_paid"], outputs["patient_pays"]) == (Decimal("350.00"), Decimal("0.00"), Decimal("250.00"))


def test_missing_account_owner_names_the_field(policy):
    claim = dict(claims()[1])
    del claim["account_owner_id"]
    (result,) = carry(policy, [claim])
    assert isinstance(result, FactsError) and "account_owner_id" in str(result)


def test_columnar_carry_refuses_shared_accounts(policy):
    pytest.importorskip("pyarrow")
    from policydsl.tools.batch.column_carry import ColumnCarry
    from policydsl.tools.claims_io import UsageError

    with pytest.raises(UsageError, match="account_owner_id"):
        ColumnCarry(policy, worker=type("W", (), {"columns": None})())


def test_explanation_says_whose_account_paid_and_the_balances(policy):
    decisions = carry(policy, claims())
    text = decisions[2].explain()  # w3: the mother's claim, paid from the father's account
    line = next(l for l in text.splitlines() if l.strip().startswith("account_balance ["))
    assert "[account_owner_id = father]" in line
    assert "350.00 + -240.00 (-account_paid) = 110.00" in line
    data = decisions[2].explanation().to_dict()
    assert data["accumulators"][1]["owner"] == "account_owner_id = father"


def test_the_layers_add_up_on_generated_claims(policy):
    """fund + account + patient = the bill, on claims drawn from the policy's own schema (the
    invariant `layers_add_up` is checked at each evaluation too: a break is an R406 error)."""
    from policydsl.diagnostics.model import EvaluationError
    from policydsl.tools.generate import generate

    decided = paid_from_accounts = 0
    for claim in generate(policy, 400, seed=11):
        try:
            outputs = policy.evaluate(claim).outputs
        except EvaluationError as error:  # only a claim the policy cannot decide, never a broken invariant
            assert "R406" not in str(error), error
            continue
        total = sum(Decimal(item["amount"]) for item in claim["items"])
        assert outputs["fund"] + outputs["account_paid"] + outputs["patient_pays"] == total, claim
        assert outputs["account_paid"] <= max(Decimal(0), Decimal(claim["account_balance"]))
        decided += 1
        paid_from_accounts += outputs["account_paid"] > 0
    assert decided > 300 and paid_from_accounts > 50, (decided, paid_from_accounts)


def test_diff_carry_shares_an_account_between_relatives(policy, tmp_path, capsys):
    """`diff --carry` carries a shared account as `carry` does: the father's balance, drawn on by
    his son and his wife, is one balance on each side. With the fund at 60%, the father's own
    claim draws 400 (not 300), so the son's and the wife's claims find less in the account."""
    from policydsl.cli.main import main

    lower = tmp_path / "worker-2025-60.policy"
    lower.write_text(POLICY.read_text(encoding="utf-8").replace("param fund_ratio = 70%", "param fund_ratio = 60%"), encoding="utf-8")
    status = main(["diff", "--json", "--carry", str(POLICY), str(lower), str(FAMILY)])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["claims"]["carried"] == {"per": "person_id, account_owner_id", "persons": 1}  # the son joins his account to his father's
    new = carry(load(str(lower)), claims())
    old = carry(policy, claims())
    paid = lambda decisions: sum(d.outputs["account_paid"] for d in decisions if not isinstance(d, FactsError))
    # old: 300 + 250 + 240 + 50; new: the father's 900 pays 400, 300 (the son's 300), 200 left of 320 for the wife
    assert (paid(old), paid(new)) == (Decimal("840.00"), Decimal("950.00"))
    assert Decimal(report["totals"]["patient_pays"]["after"]) - Decimal(report["totals"]["patient_pays"]["before"]) == Decimal(report["totals"]["patient_pays"]["difference"])
    assert Decimal(report["funds"]["difference"]) == sum(d.outputs["fund"] for d in new if not isinstance(d, FactsError)) - sum(
        d.outputs["fund"] for d in old if not isinstance(d, FactsError))
    # the account's payments are the patients' own money: counted with them (flows `patient account_paid`)
    assert report["totals"]["account_paid"]["difference"] == "+110.00"


def test_batch_carry_spilling_to_disk_shares_accounts_as_carry_does(policy, tmp_path):
    """600 generated claims of families drawing on each other's accounts, sorted on disk in
    runs of 3 records (both external sorts spill many runs): the same bytes as sorting in
    memory, and every balance as `carry` (all claims in memory) gives it."""
    from policydsl.tools.batch import BatchOptions, run_batch
    from policydsl.tools.generate import generate, write_claims

    source = tmp_path / "family.jsonl"
    generated = list(generate(policy, 600, seed=5))
    write_claims(generated, str(source))
    spills = tmp_path / "spills"
    spills.mkdir()
    tiny = run_batch(BatchOptions(str(POLICY), str(source), str(tmp_path / "tiny.jsonl"), jobs=2, chunk_size=50, carry=True, run_size=3, temporary=str(spills)))
    whole = run_batch(BatchOptions(str(POLICY), str(source), str(tmp_path / "whole.jsonl"), jobs=1, carry=True))
    assert (tmp_path / "tiny.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert list(spills.iterdir()) == []
    assert tiny.carried_per == "person_id, account_owner_id" and tiny.claims == 600 and tiny.persons == whole.persons
    rows = [json.loads(line) for line in (tmp_path / "tiny.jsonl").read_text().splitlines()]
    shared = 0
    for row, claim, decision in zip(rows, generated, carry(policy, generated), strict=True):
        assert row["claim_id"] == claim["claim_id"]
        if isinstance(decision, Exception):
            assert "error" in row
            continue
        held = decision.accumulators["account_balance"]
        assert (row["accumulators"]["account_balance"]["before"], row["accumulators"]["account_balance"]["after"]) == (str(held.before), str(held.after))
        shared += claim["account_owner_id"] != claim["person_id"] and held.before > 0
    assert shared > 50  # relatives' accounts with money in them were drawn on


def test_the_family_claims_explanations_golden(policy, snapshot):
    """What an author or a settlement engineer reads for the five family claims carried together:
    each decision's explanation (whose account paid, how much, its balance before and after) or
    the refusal, in input order. A change shows here as a diff; `--snapshot-update` after review."""
    blocks = []
    for claim, decision in zip(claims(), carry(policy, claims())):
        head = f"=== {claim['claim_id']}: {claim['person_id']}, account of {claim['account_owner_id']}"
        if isinstance(decision, FactsError):
            blocks.append(f"{head}\nrefused: " + "; ".join(f"[{e.code}] {e.path}: {e.message}" for e in decision.errors) + "\n")
        else:
            blocks.append(f"{head}\n{decision.explain()}\n")
    snapshot.snapshot_dir = ROOT / "tests" / "snapshots" / "family"
    snapshot.assert_match("\n".join(blocks), "worker-family.txt")
