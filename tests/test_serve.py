"""`policydsl serve` against the real server: a subprocess on a free loopback port, on a copy of policies/.

Every endpoint and every error; hot reload (a good edit, a broken edit, a fix) under load; the
decision log. The helpers at the top (`running_server`) are shared with test_serve_fuzz.py.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(policies: Path, *extra: str, startup: float = 30.0, started: list | None = None):
    """Yield the base URL of a server on a copy of the policies; stop it (SIGTERM) after.
    The server's process (a Popen) is appended to `started` when given."""
    port = free_port()
    env = {**os.environ, "POLICYDSL_NO_CACHE": "1"}
    command = [sys.executable, "-m", "policydsl", "serve", "--policies", str(policies), "--port", str(port), *extra]
    # its own process group: stopping it stops its worker processes too, even one that outlives it
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    if started is not None:
        started.append(process)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: {process.stderr.read()}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        try:
            os.killpg(process.pid, signal.SIGKILL)  # any worker left behind
        except (ProcessLookupError, PermissionError):
            pass
        process.stdout.close()
        process.stderr.close()


def claims(name: str = "example/claims.jsonl") -> list[dict]:
    return [json.loads(line) for line in (REPO / "policies" / name).read_text(encoding="utf-8").splitlines() if line.strip()]


# ---- the tests ------------------------------------------------------------------------------

import shutil
import threading

import httpx
import pytest
from .processes import HAS_PROC, children

EXAMPLE = "example/resident-2025"
SICHUAN_CLAIM = json.loads((REPO / "policies/sichuan/resident-2025.tests.json").read_text(encoding="utf-8"))["tests"][0]["claim"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    shutil.copytree(REPO / "policies", folder / "policies")
    log = folder / "decisions.jsonl"
    with running_server(folder / "policies", "--decision-log", str(log), "--log-inputs", "--mask", "enrollment_date",
                        "--max-batch", "50", "--max-body", "200000", "--reload-interval", "0") as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client, log


def post(client, path, body):
    return client.post(path, content=json.dumps(body) if not isinstance(body, (bytes, str)) else body, headers={"content-type": "application/json"})


def test_evaluate_by_id_as_eval_writes(served):
    client, _ = served
    claim = claims()[0]
    answer = post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["decision_id"]) == 32 and int(body["decision_id"], 16) >= 0
    assert body["policy"]["id"] == EXAMPLE and body["policy"]["digest"].startswith("sha256:")
    expected = claims("example/expected.jsonl")[0]
    assert body["result"]["basic"] == "8625.00" and body["result"]["claim_id"] == claim["claim_id"]
    assert {k: v for k, v in body["result"].items() if k in expected} == {k: v for k, v in expected.items() if k in body["result"]}
    assert body["accumulators"]["ytd_basic_paid"] == {"before": "0.00", "after": "8625.00", "period": "2025-01-01/2025-12-31"}
    assert "explanation" not in body


def test_evaluate_is_exact_with_json_numbers(served):
    client, _ = served
    claim = claims()[0]
    text = json.dumps({"policy": EXAMPLE, "claim": claim}).replace('"12000.00"', "12000.10").replace('"ytd_basic_paid": "0"', '"ytd_basic_paid": 0.1')
    body = post(client, "/v1/evaluate", text).json()
    assert body["result"]["eligible"] == "12000.10"
    assert body["accumulators"]["ytd_basic_paid"]["before"] == "0.10"
    too_fine = post(client, "/v1/evaluate", text.replace("12000.10", "12000.001"))
    assert too_fine.status_code == 422 and too_fine.json()["errors"][0]["path"] == "items[0].amount"


def test_evaluate_by_region_and_explain(served):
    client, _ = served
    answer = post(client, "/v1/evaluate", {"region": "510000", "claim": SICHUAN_CLAIM, "explain": True})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["policy"]["id"] == "sichuan/resident-2025"
    assert body["result"]["incentive"] == "16000.00" and body["result"]["major_cap"] == "316000.00"
    assert body["explanation"]["policy"]["id"] == "sichuan/resident-2025"
    assert any(step["name"] == "incentive" for step in body["explanation"]["steps"])
    dated = post(client, "/v1/evaluate", {"region": "510000", "date": "2025-06-01", "claim": SICHUAN_CLAIM, "lang": "zh", "explain": True})
    assert dated.status_code == 200 and dated.json()["explanation"]["lang"] == "zh"


def test_digest_pinned(served):
    client, _ = served
    digest = client.get(f"/v1/policies/{EXAMPLE}").json()["digest"]
    claim = claims()[0]
    assert post(client, "/v1/evaluate", {"policy": EXAMPLE, "digest": digest, "claim": claim}).status_code == 200
    wrong = post(client, "/v1/evaluate", {"policy": EXAMPLE, "digest": "sha256:" + "0" * 64, "claim": claim})
    assert wrong.status_code == 409
    assert wrong.json()["code"] == "digest_mismatch" and wrong.json()["loaded_digest"] == digest


def test_accumulators_given_apart(served):
    client, _ = served
    claim = {k: v for k, v in claims()[0].items() if not k.startswith("ytd_")}
    given = {"ytd_basic_paid": "148000.00", "ytd_major_paid": "0", "ytd_major_base": "0"}
    body = post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim, "accumulators": given}).json()
    assert body["result"]["basic"] == "2000.00"  # the cap's room: 150,000 - 148,000
    assert body["accumulators"]["ytd_basic_paid"] == {"before": "148000.00", "after": "150000.00", "period": "2025-01-01/2025-12-31"}
    unknown = post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim, "accumulators": {**given, "ytd_nope": "1"}})
    assert unknown.status_code == 422 and unknown.json()["errors"][0] == {"path": "accumulators.ytd_nope", "code": "F303", "message": unknown.json()["errors"][0]["message"]}


@pytest.mark.parametrize("body, fragment", [
    (b'{"policy": "example/resident-2025", "claim": {', "malformed JSON"),
    (b"[1, 2]", "does not fit"),
    (b'{"policy": 3, "claim": {}}', "$.policy"),
    (b'{"policy": "example/resident-2025", "claim": {}, "extra": 1}', "extra"),
    (b'{"policy": "example/resident-2025"}', "no `claim`"),
    (b'{"claim": {}}', "exactly one of"),
    (b'{"policy": "example/resident-2025", "region": "510000", "claim": {}}', "exactly one of"),
    (b'{"policy": "example/resident-2025", "as_of": "2025-13-01", "claim": {}}', "$.as_of"),
    (b'{"policy": "example/resident-2025", "claim": {"a": NaN}}', "malformed JSON"),
    (b'{"policy": "example/resident-2025", "claim": ' + b"[" * 5000 + b"]" * 5000 + b"}", "malformed JSON"),
])
def test_bad_request_is_400(served, body, fragment):
    client, _ = served
    answer = post(client, "/v1/evaluate", body)
    assert answer.status_code == 400, answer.text
    assert fragment in answer.json()["error"] and "Traceback" not in answer.text


def test_bad_facts_are_422_with_paths_and_codes(served):
    client, _ = served
    claim = claims()[0]
    claim = {**claim, "items": [{"category": "covered", "amount": "abc"}], "hospital_level": 7, "surprise": 1}
    answer = post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim})
    assert answer.status_code == 422
    errors = {e["path"]: e["code"] for e in answer.json()["errors"]}
    assert errors == {"items[0].amount": "F302", "hospital_level": "F302", "surprise": "F303"}
    not_object = post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": [1]})
    assert not_object.status_code == 422 and not_object.json()["errors"][0]["code"] == "F302"


def test_evaluation_error_is_422_with_its_code(served):
    client, _ = served
    early = {**SICHUAN_CLAIM, "service_date": "2024-06-01"}  # no version of 510000 is in force then
    answer = post(client, "/v1/evaluate", {"region": "510000", "claim": early})
    assert answer.status_code == 422 and answer.json()["code"] == "R405"
    no_date = {k: v for k, v in SICHUAN_CLAIM.items() if k != "service_date"}
    missing = post(client, "/v1/evaluate", {"region": "510000", "claim": no_date})
    assert missing.status_code == 422 and missing.json()["errors"] == [{"path": "service_date", "code": "F301", "message": missing.json()["errors"][0]["message"]}]


def test_unknown_policy_and_region_are_404_naming_the_known(served):
    client, _ = served
    answer = post(client, "/v1/evaluate", {"policy": "example/nope", "claim": {}})
    assert answer.status_code == 404 and EXAMPLE in answer.json()["known"] and EXAMPLE in answer.json()["error"]
    region = post(client, "/v1/evaluate", {"region": "999999", "claim": SICHUAN_CLAIM})
    assert region.status_code == 404 and "510000 (四川省)" in region.json()["known"]
    batch = post(client, "/v1/evaluate/batch", {"region": "999999", "claims": [SICHUAN_CLAIM]})
    assert batch.status_code == 404
    assert client.get("/v1/policies/example/nope").status_code == 404
    assert client.get("/nowhere").status_code == 404 and client.get("/nowhere").json()["error"] == "Not Found"
    assert client.get("/v1/evaluate").status_code == 405


def test_too_large_is_413(served):
    client, _ = served
    big = {"policy": EXAMPLE, "claim": {**claims()[0], "claim_id": "x" * 300_000}}
    answer = post(client, "/v1/evaluate", big)
    assert answer.status_code == 413 and answer.json()["code"] == "too_large"
    many = post(client, "/v1/evaluate/batch", {"policy": EXAMPLE, "claims": [claims()[0]] * 51})
    assert many.status_code == 413 and many.json()["code"] == "too_many_claims"

    def chunks():  # no content-length: the limit is counted as the body streams
        yield b'{"policy": "example/resident-2025", "claim": {"claim_id": "'
        for _ in range(30):
            yield b"x" * 10_000
        yield b'"}}'

    streamed = client.post("/v1/evaluate", content=chunks())
    assert streamed.status_code == 413


def test_batch_keeps_order_with_an_error_record_in_place(served):
    client, _ = served
    good = claims()[:5]
    bad = {**good[2], "items": [{"category": "covered", "amount": "-1"}]}
    batch = [good[0], good[1], bad, good[3], 42, good[4]]
    answer = post(client, "/v1/evaluate/batch", {"policy": EXAMPLE, "claims": batch})
    assert answer.status_code == 200
    body = answer.json()
    results = body["results"]
    assert [r.get("claim_id") for r in results] == [good[0]["claim_id"], good[1]["claim_id"], good[2]["claim_id"], good[3]["claim_id"], None, good[4]["claim_id"]]
    assert results[2]["errors"][0]["path"] == "items[0].amount" and "basic" not in results[2]
    assert results[4]["line"] == 5 and results[4]["errors"][0]["code"] == "F302"
    expected = claims("example/expected.jsonl")
    for record in (results[0], results[1], results[3], results[5]):
        want = next(e for e in expected if e["claim_id"] == record["claim_id"])
        assert record["patient_pays"] == want["patient_pays"]
    assert [i is None for i in body["decision_ids"]] == [False, False, True, False, True, False]
    by_region = post(client, "/v1/evaluate/batch", {"region": "510000", "claims": [SICHUAN_CLAIM, {**SICHUAN_CLAIM, "service_date": "2024-01-01"}]}).json()["results"]
    assert by_region[0]["incentive"] == "16000.00" and by_region[1]["code"] == "R405"
    pinned = post(client, "/v1/evaluate/batch", {"region": "510000", "digest": "sha256:" + "1" * 64, "claims": [SICHUAN_CLAIM]}).json()["results"]
    assert pinned[0]["code"] == "digest_mismatch"
    assert post(client, "/v1/evaluate/batch", {"policy": EXAMPLE, "digest": "sha256:" + "1" * 64, "claims": []}).status_code == 409


def test_policies_list_and_detail(served):
    client, _ = served
    body = client.get("/v1/policies").json()
    ids = [p["id"] for p in body["policies"]]
    assert EXAMPLE in ids and "sichuan/resident-2025" in ids and ids == sorted(ids)
    sichuan = next(p for p in body["policies"] if p["id"] == "sichuan/resident-2025")
    assert sichuan["region"] == "510000" and sichuan["effective"]["from"] == "2025-01-01" and sichuan["version"] == "2025.1"
    assert body["reload"]["errors"] == [] and body["reload"]["generation"] == 1
    detail = client.get("/v1/policies/sichuan/resident-2025").json()
    assert detail["chain"] == ["sichuan/resident-2025", "national/baseline-2025"]
    schema = detail["input_schema"]
    assert schema["properties"]["service_date"] == {"type": "string", "format": "date"}
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(SICHUAN_CLAIM, schema)
    example = client.get(f"/v1/policies/{EXAMPLE}").json()["input_schema"]
    for claim in claims():
        jsonschema.validate(claim, example)
    assert example["$defs"]["Person"]["properties"]["category"]["enum"][0] == "ordinary"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**claims()[0], "hospital_level": 7}, example)


def test_health_ready_openapi(served):
    client, _ = served
    assert client.get("/health").json() == {"status": "ok"}
    bundled = len(list((REPO / "policies").glob("**/*.policy")))
    assert bundled >= 9
    assert client.get("/ready").json() == {"ready": True, "policies": bundled}
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/v1/evaluate", "/v1/evaluate/batch", "/v1/policies", "/v1/policies/{policy_id}", "/health", "/ready", "/openapi.json"}
    for ref in ("EvaluateRequest", "BatchRequest", "ErrorResponse"):
        assert ref in document["components"]["schemas"]
    validator = pytest.importorskip("jsonschema")
    validator.Draft202012Validator.check_schema(document["components"]["schemas"]["EvaluateRequest"])


def test_decision_log(served):
    client, log = served
    claim = claims()[1]
    answer = post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim}).json()
    deadline = time.monotonic() + 5
    line = None
    while time.monotonic() < deadline and line is None:
        for text in log.read_text(encoding="utf-8").splitlines():
            record = json.loads(text)
            if record["decision_id"] == answer["decision_id"]:
                line = record
        time.sleep(0.05)
    assert line is not None
    assert set(line) == {"decision_id", "time", "policy", "digest", "claim_id", "outputs", "accumulators", "inputs"}
    assert line["policy"] == EXAMPLE and line["digest"] == answer["policy"]["digest"] and line["claim_id"] == claim["claim_id"]
    assert line["outputs"]["basic"] == answer["result"]["basic"] and "policy" not in line["outputs"]
    assert line["accumulators"] == answer["accumulators"]
    assert line["inputs"]["person"]["enrollment_date"] == "***" and line["inputs"]["service_date"] == claim["service_date"]


# ---- hot reload (a server of its own: it edits the policies) -----------------------------------

def test_hot_reload_under_load(tmp_path):
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    policy = tmp_path / "policies" / "example" / "resident-2025.policy"
    text = policy.read_text(encoding="utf-8")
    claim = claims()[0]
    with running_server(tmp_path / "policies", "--reload-interval", "0.1") as base, httpx.Client(base_url=base, timeout=30) as client:
        first = post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim}).json()
        assert first["result"]["basic"] == "8625.00"
        failures, seen, stop = [], set(), threading.Event()

        def hammer():
            with httpx.Client(base_url=base, timeout=30) as own:
                while not stop.is_set():
                    answer = post(own, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim})
                    if answer.status_code != 200:
                        failures.append(answer.text)
                    else:
                        seen.add(answer.json()["result"]["basic"])

        worker = threading.Thread(target=hammer)
        worker.start()
        try:
            policy.write_text(text.replace("  2: 500 yuan", "  2: 600 yuan"), encoding="utf-8")  # a good edit
            changed = wait_for(lambda: post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim}).json()["result"]["basic"] == "8550.00")
            assert changed, "the edit was not picked up"
            second = post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim}).json()
            assert second["policy"]["digest"] != first["policy"]["digest"]

            policy.write_text(text.replace("  2: 500 yuan", "  2: 600 parsecs"), encoding="utf-8")  # a broken edit
            assert wait_for(lambda: client.get("/v1/policies").json()["reload"]["errors"])
            errors = client.get("/v1/policies").json()["reload"]["errors"]
            assert errors[0]["file"] == f"{EXAMPLE}.policy" and errors[0]["errors"][0]["code"]
            still = post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim}).json()
            assert still["result"]["basic"] == "8550.00" and still["policy"]["digest"] == second["policy"]["digest"]

            policy.write_text(text, encoding="utf-8")  # the fix
            assert wait_for(lambda: post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim}).json()["policy"]["digest"] == first["policy"]["digest"])
            assert client.get("/v1/policies").json()["reload"]["errors"] == []
            time.sleep(0.2)
        finally:
            stop.set()
            worker.join()
        assert failures == []
        assert {"8625.00", "8550.00"} <= seen


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("server, workers", [("granian", "1"), ("uvicorn", "2"), ("granian", "2")])
def test_the_other_server_and_several_workers_answer_alike(tmp_path, server, workers):
    """`--server granian` (the alternative) and two worker processes give the same answers
    as the default server with one: the app is the same."""
    pytest.importorskip(server)
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    claim = claims()[0]
    with running_server(policies, "--server", server, "--workers", workers, "--reload-interval", "0") as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            answers = [post(client, "/v1/evaluate", {"policy": EXAMPLE, "claim": claim}) for _ in range(4)]
            bad = post(client, "/v1/evaluate", b"{not json")
    assert [a.status_code for a in answers] == [200] * 4 and bad.status_code == 400
    assert {a.json()["result"]["basic"] for a in answers} == {"8625.00"}
    assert len({a.json()["decision_id"] for a in answers}) == 4  # unique, whichever worker answered


def _answering_workers(port: int, claim: dict, connections: int = 32) -> set[str]:
    """Open `connections` keep-alive connections at once, then send one evaluate on each:
    the workers that answered, told apart by the per-process prefix of their decision ids."""
    body = json.dumps({"policy": EXAMPLE, "claim": claim})
    opened = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(connections)]
    try:
        for connection in opened:
            connection.connect()
        prefixes = set()
        for connection in opened:
            connection.request("POST", "/v1/evaluate", body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            assert answer.status == 200
            prefixes.add(json.loads(answer.read())["decision_id"][:20])
        return prefixes
    finally:
        for connection in opened:
            connection.close()


@pytest.mark.skipif(not HAS_PROC or not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads connections on Linux")
def test_workers_share_connections_opened_at_once_and_a_restarted_worker_listens(tmp_path):
    """With `--workers 2` each worker listens on its own socket (serve/listening.py):
    connections opened at once reach both workers (with one shared socket, the first worker
    awake took nearly all), and a worker killed and restarted by the supervisor listens too."""
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    claim = claims()[0]
    started: list = []
    with running_server(policies, "--workers", "2", "--reload-interval", "0", started=started) as base:
        port = int(base.rsplit(":", 1)[1])
        assert wait_for(lambda: len(children_serving(started[0].pid)) == 2, 30)
        assert len(_answering_workers(port, claim)) == 2
        victim = children_serving(started[0].pid)[0]
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: victim not in children_serving(started[0].pid) and len(children_serving(started[0].pid)) == 2, 30)
        assert wait_for(lambda: len(_answering_workers(port, claim)) == 2, 30)  # the new worker answers too


def children_serving(pid: int) -> list[int]:
    """The worker processes of a `serve --workers N` supervisor (its children that are not
    multiprocessing's resource tracker)."""
    found = []
    for child in children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in command:
            found.append(child)
    return found
