"""Every API endpoint through the ASGI client, on SQLite and PostgreSQL: results, paging, tokens, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import Problem, Sample, WorkUnit, WorkUnitStatus
from app.services.analysis import compare as compare_service
from app.services.analysis import curves as curves_service
from tests.api.conftest import AUTH, TOKEN
from tests.api.seed import CORRECT_A, N, SeededStore

API = "/api/v1"


def _error(response, status: int) -> dict:
    """The error body, checked for the one shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "code", "message", "field"}
    assert body["error"]["status"] == status
    return body["error"]


def test_benchmarks_and_models(client: TestClient, store: SeededStore) -> None:
    page = client.get(f"{API}/benchmarks").json()
    assert page["total"] == 1 and page["items"][0]["name"] == "toy" and page["items"][0]["problems"] == 6
    one = client.get(f"{API}/benchmarks/{store.benchmark_id}").json()
    assert one["meta_keys"] == ["level", "source_id", "subject"]
    facets = client.get(f"{API}/benchmarks/{store.benchmark_id}/facets").json()
    assert facets["level"] == ["Level 1", "Level 2", "Level 10"]
    error = _error(client.get(f"{API}/benchmarks/4242"), 404)
    assert "benchmark 4242" in error["message"] and error["code"] == "not_found"
    models = {m["name"]: m for m in client.get(f"{API}/models").json()["items"]}
    assert models["rl-m"]["base_model"] == "base-m" and models["rl-m"]["kind"] == "rl"
    assert client.get(f"{API}/models/{store.rl_model_id}").json()["base_model_id"] == store.base_model_id
    assert "model 999" in _error(client.get(f"{API}/models/999"), 404)["message"]
    paged = client.get(f"{API}/models", params={"offset": 1, "limit": 1}).json()
    assert paged["total"] == 3 and [m["name"] for m in paged["items"]] == ["other-m"]


def test_runs_list_filters_and_pages(client: TestClient, store: SeededStore) -> None:
    page = client.get(f"{API}/runs").json()
    assert page["total"] == 3 and [r["id"] for r in page["items"]] == [store.run_c, store.run_b, store.run_a]
    pages = [client.get(f"{API}/runs", params={"offset": o, "limit": 2}).json() for o in (0, 2)]
    assert [r["id"] for p in pages for r in p["items"]] == [r["id"] for r in page["items"]]
    assert all(p["total"] == 3 for p in pages)
    rl = client.get(f"{API}/runs", params={"kind": "rl"}).json()
    assert [r["id"] for r in rl["items"]] == [store.run_b] and rl["items"][0]["base_model"] == "base-m"
    assert client.get(f"{API}/runs", params={"model": "base-m", "benchmark": "toy"}).json()["total"] == 1
    assert client.get(f"{API}/runs", params={"status": "running"}).json()["total"] == 0
    one = client.get(f"{API}/runs/{store.run_a}").json()
    assert (one["model"], one["benchmark"], one["status"], one["progress"]) == ("base-m", "toy", "done", 1.0)
    assert _error(client.get(f"{API}/runs", params={"status": "sleeping"}), 422)["field"] == "status"
    assert "run 77" in _error(client.get(f"{API}/runs/77"), 404)["message"]


def test_problems_listing_with_coverage(client: TestClient, store: SeededStore) -> None:
    url = f"{API}/benchmarks/{store.benchmark_id}/problems"
    page = client.get(url).json()
    assert page["total"] == 6 and [p["key"] for p in page["items"]] == [f"p{i}" for i in range(6)]
    assert page["items"][1]["per_run"][str(store.run_a)] == {"n": 8, "correct": 4, "errors": 0}
    only_a = client.get(url, params={"a": store.run_a, "b": store.run_b, "k": N, "which": "only_a"}).json()
    assert [p["key"] for p in only_a["items"]] == ["p2", "p5"]
    assert (
        only_a["items"][0]["evidence"]["c_a"] == CORRECT_A[2] and only_a["items"][0]["evidence"]["c_b"] == 0
    )
    algebra = client.get(url, params=[("meta", "subject=Algebra"), ("meta", "level=Level 1")]).json()
    assert [p["key"] for p in algebra["items"]] == ["p2"]
    runs_b = client.get(url, params={"runs": store.run_b, "limit": 1, "offset": 3}).json()
    assert runs_b["total"] == 6 and list(runs_b["items"][0]["per_run"]) == [str(store.run_b)]
    assert _error(client.get(url, params={"a": store.run_a, "b": store.run_b}), 422)["field"] == "k"
    assert _error(client.get(url, params={"meta": "subject"}), 422)["field"] == "meta"
    too_big = client.get(url, params={"a": store.run_a, "b": store.run_b, "k": 9, "which": "both"})
    assert _error(too_big, 422)["field"] == "k"


def test_problem_detail_and_answers(client: TestClient, store: SeededStore) -> None:
    pid = store.problem_ids[1]
    detail = client.get(f"{API}/problems/{pid}").json()
    assert detail["key"] == "p1" and detail["statement"].startswith("What is 1")
    rows = {r["run_id"]: r for r in detail["runs"]}
    assert rows[store.run_a]["pass_at_k"]["1"] == pytest.approx(0.5)
    assert set(rows[store.run_c]["pass_at_k"]) == {"1", "2", "4"}
    some = client.get(f"{API}/problems/{pid}", params=[("runs", store.run_a), ("ks", 3)]).json()
    assert [r["run_id"] for r in some["runs"]] == [store.run_a] and list(some["runs"][0]["pass_at_k"]) == [
        "3"
    ]
    clusters = client.get(f"{API}/problems/{pid}/answers").json()
    assert clusters[0] == {
        "answer": "1",
        "correct": True,
        "counts": {str(store.run_a): 4, str(store.run_b): 8},
        "total": 12,
    }
    assert "problem 999999" in _error(client.get(f"{API}/problems/999999/answers"), 404)["message"]
    assert _error(client.get(f"{API}/problems/{pid}", params={"ks": 0}), 422)["field"].startswith("ks")


def test_samples_pages_and_detail(client: TestClient, store: SeededStore, sessions) -> None:
    with sessions() as session:
        expected = list(
            session.scalars(
                select(Sample.id)
                .join(Problem, Problem.id == Sample.problem_id)
                .where(Sample.run_id == store.run_a)
                .order_by(Problem.position, Sample.idx)
            )
        )
    seen = []
    for offset in range(0, len(expected) + 10, 10):
        page = client.get(f"{API}/samples", params={"run": store.run_a, "offset": offset, "limit": 10}).json()
        assert page["total"] == len(expected) == 6 * N
        seen += [s["id"] for s in page["items"]]
    assert seen == expected
    correct = client.get(f"{API}/samples", params={"run": store.run_a, "verdict": "correct"}).json()
    assert correct["total"] == sum(CORRECT_A)
    by_answer = client.get(
        f"{API}/samples", params={"problem": store.problem_ids[1], "answer": "wrong0"}
    ).json()
    assert by_answer["total"] == 2 and all(s["answer"] == "wrong0" for s in by_answer["items"])
    detail = client.get(f"{API}/samples/{expected[0]}").json()
    assert detail["text"].startswith("Solution A-p0-0") and detail["gold_answer"] == "0"
    assert detail["previous_id"] is None and detail["next_id"] == expected[1]
    assert _error(client.get(f"{API}/samples", params={"verdict": "great"}), 422)["field"] == "verdict"
    assert "sample 123456" in _error(client.get(f"{API}/samples/123456"), 404)["message"]
    assert "run 99" in _error(client.get(f"{API}/samples", params={"run": 99}), 404)["message"]


def test_annotations_write_and_read(client: TestClient, store: SeededStore, sessions) -> None:
    with sessions() as session:
        sample_id = session.scalar(select(Sample.id).where(Sample.run_id == store.run_b).order_by(Sample.id))
    url = f"{API}/samples/{sample_id}/annotations"
    body = {"label": "lucky_guess", "note": "right number, nonsense steps", "author": "ann"}
    made = client.post(url, json=body, headers=AUTH)
    assert made.status_code == 201 and made.json()["run_id"] == store.run_b
    bad = client.post(url, json={"label": "brilliant"}, headers=AUTH)
    assert _error(bad, 422)["field"] == "label"
    long_author = client.post(url, json={"label": "other", "author": "x" * 201}, headers=AUTH)
    assert _error(long_author, 422)["field"] == "author"
    nul = client.post(url, json={"label": "other", "note": "a\x00b"}, headers=AUTH)
    assert _error(nul, 422)["field"] == "note"
    assert (
        "sample 999999"
        in _error(client.post(f"{API}/samples/999999/annotations", json=body, headers=AUTH), 404)["message"]
    )
    listed = client.get(f"{API}/annotations", params={"run": store.run_b}).json()
    assert listed["total"] == 1 and listed["items"][0]["label"] == "lucky_guess"
    assert client.get(f"{API}/annotations", params={"run": store.run_a}).json()["total"] == 0
    assert client.get(f"{API}/samples/{sample_id}").json()["annotations"][0]["author"] == "ann"


def test_curves_compare_histogram(client: TestClient, store: SeededStore, sessions) -> None:
    got = client.get(f"{API}/curves", params=[("runs", store.run_a), ("runs", store.run_b)]).json()
    with sessions() as session:
        want = curves_service(session=session, run_ids=[store.run_a, store.run_b])
        want_cmp = compare_service(session=session, a=store.run_a, b=store.run_b, k=N, bootstrap=1000)
    assert [r["run_id"] for r in got["runs"]] == [store.run_a, store.run_b]
    assert got["runs"][0]["pass_at_k"] == pytest.approx(want["runs"][0]["pass_at_k"])
    assert got["runs"][0]["ks"] == list(range(1, N + 1)) and got["interval"] is None
    ci = client.get(
        f"{API}/curves", params={"runs": store.run_a, "ci": True, "bootstrap": 200, "seed": 3}
    ).json()
    assert ci["interval"]["seed"] == 3
    assert all(
        lo <= m <= hi
        for lo, m, hi in zip(
            ci["runs"][0]["lower"], ci["runs"][0]["pass_at_k"], ci["runs"][0]["upper"], strict=True
        )
    )
    assert _error(client.get(f"{API}/curves", params={"runs": store.run_a, "ks": 9}), 422)["field"] == "ks"
    assert _error(client.get(f"{API}/curves"), 422)["field"] == "runs"
    assert "run 31337" in _error(client.get(f"{API}/curves", params={"runs": 31337}), 404)["message"]
    cmp = client.get(f"{API}/compare", params={"a": store.run_a, "b": store.run_b, "k": N}).json()
    assert (cmp["both"], cmp["only_a"], cmp["only_b"], cmp["neither"]) == (
        ["p0", "p1"],
        ["p2", "p5"],
        ["p3"],
        ["p4"],
    )
    assert cmp["difference"]["ks"] == want_cmp["difference"]["ks"]
    assert cmp["difference"]["mean"] == pytest.approx(want_cmp["difference"]["mean"])
    assert [e["problem"] for e in cmp["evidence"]["only_a"]] == ["p2", "p5"]
    assert (
        _error(client.get(f"{API}/compare", params={"a": store.run_a, "b": store.run_b, "k": 9}), 422)[
            "field"
        ]
        == "k"
    )
    assert _error(client.get(f"{API}/compare", params={"a": store.run_a, "k": 1}), 422)["field"] == "b"
    hist = client.get(f"{API}/histogram", params={"runs": store.run_a}).json()["runs"][0]
    assert hist["counts"][0] == 2 and hist["counts"][-1] == 1 and sum(hist["counts"]) == 6
    assert hist["mean_accuracy"] == pytest.approx(sum(CORRECT_A) / (6 * N))


def test_run_lifecycle_through_the_api(client: TestClient, store: SeededStore, sessions) -> None:
    created = client.post(
        f"{API}/runs", json={"model": "new-m", "benchmark": "toy", "n": 4, "unit_size": 4}, headers=AUTH
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert (run["status"], run["samples_total"], run["progress"]) == ("queued", 24, 0.0)
    assert _error(client.delete(f"{API}/runs/{run['id']}", headers=AUTH), 409)["code"] == "conflict"
    cancelled = client.post(f"{API}/runs/{run['id']}/cancel", headers=AUTH)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    with sessions() as session:
        statuses = set(session.scalars(select(WorkUnit.status).where(WorkUnit.run_id == run["id"])))
    assert statuses == {WorkUnitStatus.failed}
    assert _error(client.post(f"{API}/runs/{store.run_a}/cancel", headers=AUTH), 409)["message"].startswith(
        "run"
    )
    deleted = client.delete(f"{API}/runs/{run['id']}", headers=AUTH)
    assert deleted.status_code == 204 and deleted.content == b""
    assert _error(client.get(f"{API}/runs/{run['id']}"), 404)
    assert client.delete(f"{API}/runs/{store.run_a}", headers=AUTH).status_code == 204
    assert client.get(f"{API}/samples", params={"problem": store.problem_ids[0]}).json()["total"] == N
    bad = client.post(f"{API}/runs", json={"model": "m", "benchmark": "toy", "n": 0}, headers=AUTH)
    assert _error(bad, 422)["field"] == "n"
    unknown = client.post(f"{API}/runs", json={"model": "m", "benchmark": "nonesuch"}, headers=AUTH)
    assert "nonesuch" in _error(unknown, 404)["message"]
    extra = client.post(f"{API}/runs", json={"model": "m", "benchmark": "toy", "colour": 1}, headers=AUTH)
    assert _error(extra, 422)["field"] == "colour"


def test_upload_imports_and_names_the_bad_line(client: TestClient, tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"q{i}", "c": i, "n": 4}) for i in range(4)]
    data = ("\n".join(lines) + "\n").encode()
    form = {
        "format": "counts",
        "model": "up-m",
        "benchmark": "up-bench",
        "kind": "rl",
        "base_model": "up-base",
    }
    first = client.post(f"{API}/imports", data=form, files={"file": ("counts.jsonl", data)}, headers=AUTH)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["created"] is True and body["counts_only"] is True and body["problems"] == 4
    assert body["run"]["model"] == "up-m" and body["run"]["base_model"] == "up-base"
    again = client.post(f"{API}/imports", data=form, files={"file": ("counts.jsonl", data)}, headers=AUTH)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["run"]["id"] == body["run"]["id"]
    curve = client.get(f"{API}/curves", params={"runs": body["run"]["id"]}).json()["runs"][0]
    assert curve["pass_at_k"][0] == pytest.approx((0 + 1 + 2 + 3) / 16)
    broken = (lines[0] + "\n" + '{"id": "q9", "c": 5, "n": 4}\n').encode()
    bad = client.post(f"{API}/imports", data=form, files={"file": ("bad.jsonl", broken)}, headers=AUTH)
    error = _error(bad, 422)
    assert error["message"].startswith("bad.jsonl:2:") and "exceeds" in error["message"]
    assert "coverscope-upload" not in error["message"]
    other = (lines[1] + "\n").encode()
    missing = client.post(
        f"{API}/imports", data={"format": "counts"}, files={"file": ("x.jsonl", other)}, headers=AUTH
    )
    assert _error(missing, 422)["field"] == "model"
    wrong_format = client.post(
        f"{API}/imports", data={"format": "csv"}, files={"file": ("x.jsonl", data)}, headers=AUTH
    )
    assert _error(wrong_format, 422)["field"] == "format"


def test_token_rules(make_client: Callable[..., TestClient], store: SeededStore) -> None:
    url = f"{API}/runs/{store.run_a}/cancel"
    closed = make_client()  # no tokens configured: reads open, every write refused
    assert closed.get(f"{API}/runs").status_code == 200
    assert "COVERSCOPE_API_TOKENS" in _error(closed.post(url, headers=AUTH), 403)["message"]
    server = make_client(api_tokens=["other", TOKEN])
    missing = server.post(url)
    assert _error(missing, 401)["code"] == "unauthorized" and missing.headers["www-authenticate"].startswith(
        "Bearer"
    )
    wrong = server.post(url, headers={"Authorization": "Bearer nope"})
    assert (
        "not one of" in _error(wrong, 401)["message"] and "invalid_token" in wrong.headers["www-authenticate"]
    )
    assert _error(server.post(url, headers={"Authorization": f"Basic {TOKEN}"}), 401)
    assert _error(server.post(url, headers=AUTH), 409)  # authorised; the run is done, so not cancellable
    assert server.get(f"{API}/runs").status_code == 200  # reads stay open
    private = make_client(api_tokens=[TOKEN], api_read_requires_token=True)
    assert _error(private.get(f"{API}/runs"), 401)
    assert _error(private.get(f"{API}/runs", headers={"Authorization": "Bearer nope"}), 401)
    assert private.get(f"{API}/runs", headers=AUTH).json()["total"] == 3
    assert private.get(f"{API}/health").status_code == 200  # liveness stays open
    misconfigured = make_client(api_read_requires_token=True)
    assert _error(misconfigured.get(f"{API}/runs", headers=AUTH), 403)


def test_error_shapes(client: TestClient, store: SeededStore) -> None:
    unknown = _error(client.get(f"{API}/nope"), 404)
    assert "/api/v1/nope" in unknown["message"]
    assert _error(client.put(f"{API}/runs"), 405)["code"] == "method_not_allowed"
    assert _error(client.get(f"{API}/runs/abc"), 422)["field"] == "run_id"
    assert _error(client.get(f"{API}/runs/{2**64}"), 422)["field"] == "run_id"
    assert _error(client.get(f"{API}/runs", params={"limit": 0}), 422)["field"] == "limit"
    assert _error(client.get(f"{API}/runs", params={"model": "a\x00b"}), 422)["field"] == "model"
    broken = client.post(
        f"{API}/runs", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert _error(broken, 422)["code"] == "invalid_input"
    schema = client.get("/api/openapi.json").json()
    responses = schema["paths"]["/api/v1/runs/{run_id}"]["get"]["responses"]
    assert responses["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert client.get("/api/docs").status_code == 200


def test_cors(make_client: Callable[..., TestClient], store: SeededStore) -> None:
    origin = "https://notebooks.example.org"
    allowed = make_client(cors_origins=[origin])
    preflight = allowed.options(
        f"{API}/runs", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin
    plain = make_client()
    got = plain.get(f"{API}/runs", headers={"Origin": origin})
    assert got.status_code == 200 and "access-control-allow-origin" not in got.headers
