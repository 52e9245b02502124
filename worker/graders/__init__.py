"""Graders: turn generated texts into verdicts. `make_grader(name)` builds one by name.

A grader grades a batch at a time so it can spread the work over processes:
``grade([(problem, [text, ...]), ...]) -> [[Grade, ...], ...]`` in the same order. It never raises
for a bad sample: a crash, a timeout or unparsable output is a verdict ("error", "timeout"),
stored as data.
"""

from __future__ import annotations

from typing import Any, Protocol

from worker.types import Grade, TaskProblem


class Grader(Protocol):
    """What the pipeline needs from a grader."""

    name: str
    version: str

    def grade(self, items: list[tuple[TaskProblem, list[str]]]) -> list[list[Grade]]:
        """Verdicts for every text of every problem, in order."""
        ...

    def close(self) -> None:
        """Stop worker processes."""
        ...


GRADERS = ("math", "code", "none")


def make_grader(name: str, **options: Any) -> Grader:
    """The grader called `name` ("math", "code" or "none")."""
    if name == "math":
        from worker.graders.math import MathGrader

        return MathGrader(**options)
    if name == "code":
        from worker.graders.code import CodeGrader

        return CodeGrader(**options)
    if name == "none":
        return NoGrader()
    raise ValueError(f"unknown grader {name!r}; choose one of {', '.join(GRADERS)}")


class NoGrader:
    """Stores samples ungraded (grade later with `coverscope grade RUN`)."""

    name = "none"
    version = "1"

    def grade(self, items: list[tuple[TaskProblem, list[str]]]) -> list[list[Grade]]:
        """Every sample ungraded."""
        return [[Grade(verdict="ungraded") for _ in texts] for _, texts in items]

    def close(self) -> None:
        """Nothing to stop."""
