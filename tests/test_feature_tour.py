"""Golden explanations of the language features of issue 14 in one frame and one region
(tests/data/tour/policies): required values set by the region, input limits, date
functions, `unlimited`, rounding to 10 yuan, a `let`, a named tier band, an overridden invariant, a
dropped output and a record field added across `extends`. `--snapshot-update` rewrites them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import policydsl
from policydsl.explain.render import render_text

HERE = Path(__file__).resolve().parent
REGION = HERE / "data" / "tour" / "policies" / "region" / "city.policy"
FRAME = HERE / "data" / "tour" / "policies" / "frame" / "resident.policy"

CLAIMS = {
    "hardship-newborn": {"person": {"category": "hardship", "birth_date": "2025-01-10"}, "service_date": "2025-03-01", "level": "three", "items": [{"amount": "80000.00"}, {"amount": "12345.67"}]},
    "ordinary-adult": {"person": {"birth_date": "1970-02-28", "disabled": True}, "service_date": "2025-06-30", "level": "one", "items": [{"amount": "700000.00"}]},
}


@pytest.mark.parametrize("name", list(CLAIMS))
def test_tour_explanations(name, snapshot):
    policy = policydsl.load(REGION)
    decision = policy.evaluate(CLAIMS[name])
    text = render_text(decision.explanation()) + "\n" + json.dumps(decision.to_json(), ensure_ascii=False, indent=1) + "\n"
    snapshot.snapshot_dir = HERE / "snapshots" / "tour"
    snapshot.assert_match(text, f"{name}.txt")


def test_tour_limits_and_the_frame(snapshot):
    policy = policydsl.load(REGION)
    with pytest.raises(policydsl.FactsError) as raised:
        policy.evaluate({**CLAIMS["ordinary-adult"], "service_date": "2019-05-01", "admissions": 0, "items": [{"amount": "1000000.01"}]})
    frame = policydsl.load(FRAME)
    with pytest.raises(policydsl.EvaluationError) as refused:
        frame.evaluate(CLAIMS["hardship-newborn"])
    text = str(raised.value) + "\n" + str(refused.value) + "\n" + "\n".join(f"{w.code}: {w.message}" for w in frame.warnings) + "\n"
    snapshot.snapshot_dir = HERE / "snapshots" / "tour"
    snapshot.assert_match(text, "limits-and-frame.txt")
    assert policy.output_names == ["total", "basic", "major", "cap_here", "patient_pays", "age_years", "newborn"]
