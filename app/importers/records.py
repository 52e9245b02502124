"""Normalised records that every import format is parsed into, before anything touches the store.

A parser is a generator of ``(line_number, record)`` pairs. It raises
:class:`app.core.errors.ImportFormatError` naming the file and line for anything it
cannot read. The importing service (``app.services.importing``) writes the records in
one transaction, so a bad line anywhere leaves the store unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["correct", "incorrect", "timeout", "error", "ungraded"]
VERDICTS: tuple[str, ...] = ("correct", "incorrect", "timeout", "error", "ungraded")


@dataclass(frozen=True, slots=True)
class HeaderRecord:
    """Run-level facts a file states about itself (our own JSONL's first line, lm-eval's config...).

    Every field is optional; command-line options take precedence over what a header says.
    ``run`` may hold: engine, prompt_template, temperature, top_p, max_tokens, seed, sampling
    (dict), n_per_problem, grader, grader_version, provenance (dict), name.
    """

    model: str | None = None
    model_kind: str | None = None
    base_model: str | None = None
    model_source: str | None = None
    model_revision: str | None = None
    benchmark: str | None = None
    benchmark_source: str | None = None
    run: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProblemRecord:
    """One problem as a file describes it; ``key`` is unique within its benchmark."""

    key: str
    statement: str | None = None
    answer: str | None = None
    tests: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """One generated solution with its verdict; (problem_key, index) is unique within a file."""

    problem_key: str
    index: int
    text: str
    verdict: Verdict
    answer: str | None = None
    num_tokens: int | None = None
    finish_reason: str | None = None
    grader_detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CountRecord:
    """n samples, ``correct`` of them correct, for one problem (counts-only runs)."""

    problem_key: str
    n: int
    correct: int


Record = HeaderRecord | ProblemRecord | SampleRecord | CountRecord
