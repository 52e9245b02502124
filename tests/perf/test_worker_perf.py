"""The worker's wall time (generate + grade + store, pipelined) beside a bare `LLM.generate` on the same
prompts with the same vLLM instance; prints both and the ratio."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.services.work import enqueue_run, sync_benchmark
from tests.conftest import shared_data
from tests.worker.conftest import require_module
from worker.engines import EngineOptions, SamplingConfig, problem_seed
from worker.pipeline import Worker

PROBLEMS, N, MAX_TOKENS = 40, 16, 64


@pytest.mark.vllm
def test_worker_overhead_over_bare_generate(sessions: sessionmaker[Session], tiny_model: Path) -> None:
    require_module("vllm", "vLLM")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from vllm import LLM, SamplingParams

    from worker.benchmarks import load_benchmark
    from worker.engines.vllm_engine import VllmEngine
    from worker.prompts import render_prompt, template_text

    loaded = load_benchmark("math500", path=shared_data("benchmarks/math500.jsonl"), limit=PROBLEMS)
    llm = LLM(
        model=str(tiny_model), dtype="float32", max_model_len=2048, seed=0, enable_chunked_prefill=False
    )
    config = SamplingConfig(n=N, temperature=1.0, top_p=0.95, max_tokens=MAX_TOKENS, seed=5)
    prompts = [render_prompt("qwen-boxed", p).text for p in loaded.problems]
    params = [
        SamplingParams(n=N, temperature=1.0, top_p=0.95, max_tokens=MAX_TOKENS, seed=problem_seed(5, p.key))
        for p in loaded.problems
    ]
    llm.generate(prompts[:2], params[:2], use_tqdm=False)  # warm-up, outside both timings
    began = time.perf_counter()
    bare = llm.generate(prompts, params, use_tqdm=False)
    bare_s = time.perf_counter() - began

    with sessions() as session, session.begin():
        benchmark, ids = sync_benchmark(
            session=session,
            name="math500",
            domain="math",
            source="file",
            revision=None,
            problems=loaded.problems,
        )
        run = enqueue_run(
            session=session,
            model=str(tiny_model),
            kind=None,
            base_model=None,
            model_revision=None,
            benchmark=benchmark,
            problem_ids=ids,
            n=N,
            engine="vllm",
            template="qwen-boxed",
            template_text=template_text("qwen-boxed"),
            sampling=config.to_dict(),
            engine_options={},
            grader="math",
            unit_size=PROBLEMS,
        )
        run_id = run.id
    engine = VllmEngine(str(tiny_model), EngineOptions(), llm=llm)
    worker = Worker(session_factory=sessions, chunk_samples=8 * N, engine_factory=lambda *a: engine)
    began = time.perf_counter()
    stats = worker.run(run_id=run_id)
    worker_s = time.perf_counter() - began
    assert stats.samples == PROBLEMS * N
    assert sum(len(r.outputs) for r in bare) == stats.samples
    print(
        f"\nworker vs bare LLM.generate ({PROBLEMS} problems x n={N}, max {MAX_TOKENS} tokens, tiny model): "
        f"bare {bare_s:.2f} s | worker {worker_s:.2f} s (generate {stats.generate_s:.2f} s, grade "
        f"{stats.grade_s:.2f} s overlapped) | ratio {worker_s / bare_s:.2f}x"
    )
