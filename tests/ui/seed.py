"""A small, realistic store for the dashboard tests, written through the importer and the work queue.

Benchmark `mathlite` (40 problems with subject and level), a base run and its RL descendant (n=32 each,
as samples with LaTeX, code and one hostile trace) whose pass@k curves cross, and a third run still in
progress. Problem positions 0-3 are solved only by the base model, 4 only by the RL model, 5-7 by
neither, the rest by both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.core.db import transaction
from app.models import Benchmark, ModelKind
from app.services.browse import list_samples
from app.services.catalog import problem_ids_by_key
from app.services.importing import import_file
from app.services.work import claim_work_unit, enqueue_run, write_samples_idempotent

BENCHMARK = "mathlite"
BASE_MODEL = "Qwen/Qwen2.5-Mini"
RL_MODEL = "Qwen/Qwen2.5-Mini-SimpleRL-Zoo"
N = 32
PROBLEMS = 40
SUBJECTS = ("Algebra", "Geometry", "Number Theory", "Prealgebra")
ONLY_BASE = (0, 1, 2, 3)
ONLY_RL = (4,)
NEITHER = (5, 6, 7)
HOSTILE_PROBLEM = 0
HOSTILE_TEXT = (
    "Let me think. <script>window.__pwned = 'script'</script>\n\n"
    '<img src="x" onerror="window.__pwned = \'img\'">\n\n'
    "[click](javascript:window.__pwned='link')\n\n"
    "So $x^2 = 9$ and the answer is $\\boxed{3}$."
)
HOSTILE_ANSWER = "<img src=x onerror=window.__pwned='answer'>"


@dataclass(frozen=True)
class Seeded:
    """Ids of what the seed wrote."""

    benchmark_id: int
    base_run: int
    rl_run: int
    live_run: int
    problem_ids: dict[str, int]
    hostile_sample: int


def key(i: int) -> str:
    """The key of the problem at position i."""
    return f"test/{SUBJECTS[i % 4].lower().replace(' ', '_')}/{i}.json"


def _counts(rng: np.random.Generator) -> tuple[list[int], list[int]]:
    base, rl = [], []
    for i in range(PROBLEMS):
        if i in ONLY_BASE:
            base.append(int(rng.integers(1, 6)))
            rl.append(0)
        elif i in ONLY_RL:
            base.append(0)
            rl.append(3)
        elif i in NEITHER:
            base.append(0)
            rl.append(0)
        else:
            p = float(rng.beta(0.8, 1.2))
            base.append(max(1, int(rng.binomial(N, p))))
            rl.append(max(1, int(rng.binomial(N, min(1.0, 0.35 + 0.9 * p)))))
    return base, rl


def _statement(i: int) -> str:
    a, b = i + 2, 3 * i + 1
    return (
        f"**Problem {i}.** Let $f(x) = {a}x + {b}$. Find the smallest positive integer $x$ such that "
        f"$f(x) > {a * (i + 3) + b - 1}$.\n\n"
        "You may check your work with code:\n\n```python\n"
        f"def f(x):\n    return {a} * x + {b}\n\n"
        f"print(min(x for x in range(1, 100) if f(x) > {a * (i + 3) + b - 1}))\n"
        "```\n"
    )


def _trace(i: int, answer: str, correct: bool, j: int) -> str:
    steps = (
        f"We need ${i + 2}x + {3 * i + 1} > {(i + 2) * (i + 3) + 3 * i}$, so "
        f"$x > \\frac{{{(i + 2) * (i + 3) - 1}}}{{{i + 2}}}$.\n\n"
        "```python\nfor x in range(1, 100):\n    if check(x):\n        break\n```\n\n"
    )
    tail = "Checking: it works." if correct else "I am not sure, but I will guess."
    return f"Sample {j}. {steps}{tail} The answer is $\\boxed{{{answer}}}$."


def _write(
    path: Path,
    model: str,
    kind: str,
    base: str | None,
    temperature: float,
    counts: list[int],
    rng: np.random.Generator,
) -> Path:
    lines = [
        {
            "type": "header",
            "format": "coverscope.samples",
            "version": 1,
            "model": {"name": model, "kind": kind, "base_model": base},
            "benchmark": {"name": BENCHMARK, "source": "tests/ui/seed.py"},
            "run": {
                "engine": "vllm",
                "temperature": temperature,
                "top_p": 0.95,
                "max_tokens": 4096,
                "n_per_problem": N,
                "grader": "math-verify",
                "seed": 0,
            },
        }
    ]
    for i in range(PROBLEMS):
        lines.append(
            {
                "type": "problem",
                "key": key(i),
                "statement": _statement(i),
                "answer": str(i + 3),
                "meta": {"subject": SUBJECTS[i % 4], "level": f"Level {i % 5 + 1}"},
            }
        )
    for i, c in enumerate(counts):
        gold = str(i + 3)
        hostile = kind == "base" and i == HOSTILE_PROBLEM
        pool = np.arange(1, N) if hostile else np.arange(N)
        correct_idx = set(rng.choice(pool, size=c, replace=False).tolist()) if c else set()
        for j in range(N):
            ok = j in correct_idx
            answer = gold if ok else str(int(gold) + int(rng.choice([-1, 1, 2, 10])))
            text = _trace(i, answer, ok, j)
            if hostile and j == 0:
                text, answer = HOSTILE_TEXT, HOSTILE_ANSWER
            lines.append(
                {
                    "type": "sample",
                    "problem": key(i),
                    "index": j,
                    "text": text,
                    "verdict": "correct" if ok else "incorrect",
                    "answer": answer,
                    "tokens": int(len(text) // 4),
                    "finish_reason": "stop" if j % 7 else "length",
                }
            )
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    return path


def seed_store(sessions: sessionmaker[Session], workdir: Path, *, seed: int = 7) -> Seeded:
    """Write the seeded benchmark and runs into the store of `sessions`."""
    rng = np.random.default_rng(seed)
    base_counts, rl_counts = _counts(rng)
    base = import_file(
        session_factory=sessions,
        format_name="samples",
        path=_write(workdir / "base.jsonl", BASE_MODEL, "base", None, 1.0, base_counts, rng),
    )
    rl = import_file(
        session_factory=sessions,
        format_name="samples",
        path=_write(workdir / "rl.jsonl", RL_MODEL, "rl", BASE_MODEL, 0.6, rl_counts, rng),
    )
    with transaction(sessions) as session:
        bench = session.scalar(select(Benchmark).where(Benchmark.name == BENCHMARK))
        ids = problem_ids_by_key(session=session, benchmark_id=bench.id)
        ordered = [ids[key(i)] for i in range(PROBLEMS)]
        live = enqueue_run(
            session=session,
            model="Qwen/Qwen2.5-Mini-Instruct",
            kind=ModelKind.instruct,
            base_model=BASE_MODEL,
            model_revision=None,
            benchmark=bench,
            problem_ids=ordered,
            n=8,
            engine="vllm",
            template="qwen-boxed",
            template_text="{problem}",
            sampling={"temperature": 0.6, "top_p": 0.95, "max_tokens": 1024, "seed": 0},
            engine_options={},
            grader="math",
            unit_size=10,
        )
        live_id, bench_id = live.id, bench.id
    unit = claim_work_unit(session_factory=sessions, owner="seed", lease_s=3600, run_id=live_id)
    assert unit is not None
    rows = [
        {
            "run_id": live_id,
            "problem_id": pid,
            "idx": j,
            "text": f"Trace {j}: the answer is 5.",
            "answer": "5",
            "verdict": "correct" if j % 3 == 0 else "incorrect",
            "num_tokens": 9,
            "finish_reason": "stop",
        }
        for pid in unit.problem_ids
        for j in range(8)
    ]
    write_samples_idempotent(session_factory=sessions, run_id=live_id, rows=rows)
    with sessions() as session:
        page = list_samples(session=session, run_id=base.run_id, problem_id=ordered[HOSTILE_PROBLEM], limit=1)
        hostile = page.items[0].id
    return Seeded(
        benchmark_id=bench_id,
        base_run=base.run_id,
        rl_run=rl.run_id,
        live_run=live_id,
        problem_ids={key(i): ordered[i] for i in range(PROBLEMS)},
        hostile_sample=hostile,
    )
