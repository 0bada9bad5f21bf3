"""Schemathesis against the running server's /openapi.json: no input it generates gets a 5xx.

Bounded (a few dozen examples per operation, ~10 s in all); the server is the real one, a
subprocess on a copy of policies/ (test_serve.running_server).
"""

from __future__ import annotations

import shutil

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from tests.test_serve import REPO, running_server  # noqa: E402


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(REPO / "policies", folder / "policies")
    with running_server(folder / "policies", "--reload-interval", "0", "--max-batch", "20") as base:
        yield base


@pytest.fixture(scope="module")
def api_schema(base_url):
    return schemathesis.openapi.from_url(base_url + "/openapi.json")


def test_no_input_gets_a_server_error(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /v1/evaluate", "POST /v1/evaluate/batch", "GET /v1/policies", "GET /v1/policies/{policy_id}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case):
            response = case.call(timeout=30)
            case.validate_response(response, checks=[not_a_server_error])
            assert "Traceback" not in response.text

        no_server_error()
