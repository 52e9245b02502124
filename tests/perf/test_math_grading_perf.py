"""Math grading throughput on real answers, verdict cache on and off; asserts equal verdicts, never a time.

The samples: the 16 real rollouts of each gsm8k30 problem (Qwen2.5-1.5B SFT and RLVR), drawn with
replacement up to n=128 per problem, as a run with many samples per problem repeats its answers; and
the 4 GPT-3 solutions of each of 500 GSM8K problems (little repetition). Both graders are warmed up
(worker processes started) before the clock starts.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from worker.graders.math import MathGrader
from worker.types import TaskProblem

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GSM8K30 = SHARED_DATA / "generations" / "gsm8k30_qwen2.5-1.5b_sft_vs_rlvr_ppo_n8"
GPT3_SOLUTIONS = SHARED_DATA / "generations" / "gsm8k_gpt3_example_model_solutions.jsonl"
N_PER_PROBLEM = 128
GPT3_PROBLEMS = 500


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSONL file, or a skip (a failure in CI) when the shared data is absent."""
    if not path.exists():
        from tests.conftest import missing_component

        missing_component(f"shared data file {path}")
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def realistic_batch(seed: int) -> list[tuple[TaskProblem, list[str]]]:
    """gsm8k30 rollouts resampled to N_PER_PROBLEM per problem, then GPT-3 solutions, with their golds."""
    rng = random.Random(seed)
    rollouts: dict[int, list[str]] = {}
    golds: dict[int, str] = {}
    for name in ("sft_raw.jsonl", "rl_raw.jsonl"):
        for row in read_jsonl(GSM8K30 / name):
            rollouts.setdefault(row["qid"], []).extend(r["text"] for r in row["rollouts"])
            golds[row["qid"]] = row["gold"]
    items = [
        (
            TaskProblem(key=f"gsm8k30/{qid}", statement="", answer=golds[qid]),
            rng.choices(texts, k=N_PER_PROBLEM),
        )
        for qid, texts in sorted(rollouts.items())
    ]
    settings = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
    for index, row in enumerate(read_jsonl(GPT3_SOLUTIONS)[:GPT3_PROBLEMS]):
        gold = row["ground_truth"].strip().splitlines()[-1].removeprefix("A:").strip()
        items.append(
            (
                TaskProblem(key=f"gpt3/{index}", statement="", answer=gold),
                [row[s]["solution"] for s in settings],
            )
        )
    return items


def timed_grading(grader: MathGrader, items: list[tuple[TaskProblem, list[str]]]) -> tuple[list, float]:
    """The grades of `items` and the seconds they took, after a warm-up that starts every worker."""
    warm_up = [
        (TaskProblem(key=f"warm/{i}", statement="", answer="0"), [f"\\boxed{{{i + 1}}}"]) for i in range(32)
    ]
    grader.grade(warm_up)
    start = time.perf_counter()
    grades = grader.grade(items)
    return grades, time.perf_counter() - start


@pytest.mark.perf
def test_math_grading_throughput_cache_on_and_off() -> None:
    items = realistic_batch(seed=0)
    samples = sum(len(texts) for _, texts in items)
    with MathGrader(cache_size=0) as uncached:
        plain, plain_s = timed_grading(uncached, items)
        workers = uncached._pool.size
    with MathGrader() as cached:
        first, first_s = timed_grading(cached, items)
        hits = sum(bool(g.detail and g.detail.get("cached")) for row in first for g in row)
        start = time.perf_counter()
        again = cached.grade(items)  # a later batch of the same run: every answer is in the cache
        again_s = time.perf_counter() - start

    print()
    print(f"math grading, {samples} real samples ({len(items)} problems), {workers} worker processes")
    print(f"{'':34}{'seconds':>10}{'samples/s':>12}{'vs off':>9}")
    for label, seconds in (
        ("cache off (cache_size=0)", plain_s),
        (f"cache on, first pass ({hits / samples:.0%} hit)", first_s),
        ("cache on, second pass", again_s),
    ):
        print(f"{label:34}{seconds:10.2f}{samples / seconds:12.0f}{plain_s / seconds:8.1f}x")

    def verdicts(grades: list) -> list[tuple[str, str | None]]:
        return [(g.verdict, g.answer) for row in grades for g in row]

    assert verdicts(first) == verdicts(plain)
    assert verdicts(again) == verdicts(plain)
