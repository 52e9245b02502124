"""The seeded arithmetic benchmark: deterministic, graded difficulty, integer answers the grader accepts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from worker.benchmarks import get_benchmark, load_benchmark
from worker.benchmarks.arithmetic import DEFAULT_COUNT, LEVELS, arithmetic_problem, arithmetic_problems
from worker.prompts import TEMPLATES

NUMBER = re.compile(r"\d+")


def test_the_same_seed_gives_the_same_problems_and_another_seed_others() -> None:
    assert arithmetic_problems(0, 50) == arithmetic_problems(0, 50)
    assert arithmetic_problems(0, 50) != arithmetic_problems(1, 50)
    assert arithmetic_problems(0, 200)[:37] == arithmetic_problems(0, 37)  # a prefix is the smaller benchmark


def test_a_fresh_interpreter_makes_the_same_problems() -> None:
    """No hash() or process state: another Python process (another PYTHONHASHSEED) agrees."""
    code = (
        "import json; from worker.benchmarks import arithmetic; "
        "print(json.dumps(arithmetic.arithmetic_problems()))"
    )
    for hash_seed in ("1", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": hash_seed, "PATH": ""},
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        assert json.loads(out.stdout) == arithmetic_problems(0, 200)


def test_problems_are_distinct_with_stable_unique_keys() -> None:
    rows = arithmetic_problems(0, DEFAULT_COUNT)
    assert len(rows) == DEFAULT_COUNT
    assert len({r["problem"] for r in rows}) == DEFAULT_COUNT
    assert len({r["key"] for r in rows}) == DEFAULT_COUNT
    assert rows[0]["key"] == "arith-000"
    for row in rows:
        assert row == arithmetic_problem(0, int(row["key"].removeprefix("arith-")))


def test_difficulty_is_graded_from_one_step_to_four_steps() -> None:
    rows = arithmetic_problems(0, DEFAULT_COUNT)
    levels = Counter(r["level"] for r in rows)
    assert set(levels) == set(range(1, LEVELS + 1))
    assert min(levels.values()) >= DEFAULT_COUNT // LEVELS - 3  # about as many problems at every level
    assert {r["level"] for r in rows[:LEVELS]} == set(range(1, LEVELS + 1))  # any prefix mixes levels
    for row in rows:
        steps = len(row["skill"].split("-"))
        assert steps == max(1, row["level"] - 1), row  # levels 1-2 one step, then one step more per level
        # every number given is needed: one more number than steps
        assert len(NUMBER.findall(row["problem"])) == steps + 1, row


@pytest.mark.parametrize("level", range(1, LEVELS + 1))
def test_answers_are_right_non_negative_integers(level: int) -> None:
    for row in arithmetic_problems(0, DEFAULT_COUNT):
        if row["level"] != level:
            continue
        assert re.fullmatch(r"0|[1-9]\d*", row["answer"]), row
        numbers = [int(x) for x in NUMBER.findall(row["problem"])]
        assert _solve(row["skill"], numbers) == int(row["answer"]), row


def _solve(skill: str, x: list[int]) -> int:
    """An independent solver for each kind of problem, from the numbers in the statement, in order."""
    return {
        "add": lambda: x[0] + x[1],
        "subtract": lambda: x[0] - x[1],
        "multiply": lambda: x[0] * x[1],
        "divide": lambda: x[0] // x[1] if x[0] % x[1] == 0 else -1,
        "multiply-add": lambda: x[0] + x[1] * x[2],
        "multiply-subtract": lambda: x[0] - x[1] * x[2],
        "multiply-subtract-add": lambda: x[0] * x[1] - x[2] + x[3],
        "multiply-subtract-subtract": lambda: x[0] * x[1] - x[2] - x[3],
        "multiply-multiply-add-divide": lambda: (
            (x[0] * x[1] + x[2] * x[3]) // x[4] if (x[0] * x[1] + x[2] * x[3]) % x[4] == 0 else -1
        ),
        "multiply-multiply-add-subtract": lambda: x[4] - (x[0] * x[1] + x[2] * x[3]),
    }[skill]()


def test_the_math_grader_accepts_each_gold_answer_and_refuses_a_neighbour() -> None:
    pytest.importorskip("math_verify")
    from worker.graders import make_grader
    from worker.types import TaskProblem

    rows = arithmetic_problems(0, 40)
    problems = [TaskProblem(key=r["key"], statement=r["problem"], answer=r["answer"]) for r in rows]
    with make_grader("math") as grader:
        grades = grader.grade(
            [(p, [f"The answer is {p.answer}.", f"The answer is {int(p.answer) + 1}."]) for p in problems]
        )
    assert [g[0].verdict for g in grades] == ["correct"] * len(rows)
    assert [g[1].verdict for g in grades] == ["incorrect"] * len(rows)


def test_the_registry_serves_it_like_any_benchmark_without_network() -> None:
    spec = get_benchmark("arithmetic")
    assert spec.source == "generated:arithmetic" and spec.expected_count == DEFAULT_COUNT
    assert spec.default_template == "arithmetic-fewshot" in TEMPLATES and spec.default_grader == "math"
    loaded = load_benchmark("arithmetic")
    assert len(loaded.problems) == DEFAULT_COUNT
    first = loaded.problems[0]
    row = arithmetic_problem(0, 0)
    assert (first.key, first.statement, first.answer) == (row["key"], row["problem"], row["answer"])
    assert first.meta == {"level": row["level"], "skill": row["skill"]}
    five = load_benchmark("arithmetic", limit=5)
    assert five.problems == loaded.problems[:5] and five.revision == loaded.revision == spec.revision
    assert five.content_hash != loaded.content_hash
