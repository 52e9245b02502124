"""Plain data shared by benchmarks, prompt templates, engines and graders (no database, no vLLM)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TaskProblem:
    """A problem as the worker sees it: what templates render and graders check.

    Math: `answer` is the gold final answer. Code: `statement` is the prompt shown to the model,
    `tests` a Python test script run after the candidate program, `meta["entry_point"]` the function
    under test, and `meta["completion_mode"]` is "continue" when the model continues `statement`
    (HumanEval) or "full" when it writes the whole program (MBPP).
    """

    key: str
    statement: str
    answer: str | None = None
    tests: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Grade:
    """The verdict on one generated solution: correct / incorrect / timeout / error / ungraded."""

    verdict: str
    answer: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    """What an engine is asked to continue: chat `messages` (rendered with the model's chat template or
    sent to /v1/chat/completions) or raw `text` (sent as is, /v1/completions)."""

    text: str | None = None
    messages: tuple[dict[str, str], ...] | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.messages is None):
            raise ValueError("a Prompt has exactly one of text or messages")


@dataclass(frozen=True, slots=True)
class Completion:
    """One generated continuation."""

    text: str
    num_tokens: int | None = None
    finish_reason: str | None = None
