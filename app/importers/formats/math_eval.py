"""Output of the Qwen2.5-Math evaluation harness (``evaluation/math_eval.py --save_outputs``) and its forks.

Yue et al. (2025) measured pass@k with this harness (their fork: LeapLabTHU/limit-of-RLVR,
``math/examples/math_eval/math_eval.py``). ``main()`` in QwenLM/Qwen2.5-Math
``evaluation/math_eval.py`` writes one JSON line per problem::

    {"idx", "question", "gt_cot", "gt", <fields copied from the dataset: "level", "type",
     "solution", "answer", "choices", ...>, "code": [...], "pred": [...], "report": [...],
     "finish_reason": [...] (LeapLabTHU fork), "score": [...] (added by evaluate.py)}

``code``, ``pred``, ``report``, ``finish_reason`` and ``score`` are parallel arrays with one
entry per generation. The problem becomes a ProblemRecord (key ``str(idx)``, statement
``question``, answer ``gt``, or ``answer`` where a fork has no ``gt``) whose meta holds the
line's other scalar fields; each generation becomes a SampleRecord.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.importers.jsonl import (
    LineError,
    as_key,
    as_list,
    as_str,
    describe,
    read_objects,
    reading,
    require,
    stringify,
)
from app.importers.records import ProblemRecord, Record, SampleRecord

# Fields that are mapped to something else, or are long texts (the reference solution and the
# prompt), and so stay out of the problem's meta.
NOT_META = frozenset(
    {"idx", "question", "gt", "gt_cot", "answer", "solution", "prompt"}
    | {"code", "pred", "score", "report", "finish_reason"}
)


def parse(path: Path) -> Iterator[tuple[int, Record]]:
    """Yield, per line, the problem and then one SampleRecord per generation."""
    seen: dict[str, int] = {}
    for number, row in read_objects(path):
        with reading(path, number):
            problem = _problem(row)
            earlier = seen.setdefault(problem.key, number)
            if earlier != number:
                raise LineError(f'duplicate problem: idx "{problem.key}" also at line {earlier}')
            samples = _samples(problem.key, row)
        yield number, problem
        for sample in samples:
            yield number, sample


def _problem(row: dict[str, Any]) -> ProblemRecord:
    key = as_key(require(row, "idx"), "idx")
    statement = as_str(row.get("question"), "question", nullable=True)
    answer = stringify(row["gt"] if row.get("gt") is not None else row.get("answer"))
    meta = {
        name: value
        for name, value in row.items()
        if name not in NOT_META and isinstance(value, str | int | float | bool)
    }
    return ProblemRecord(key=key, statement=statement, answer=answer, meta=meta)


def _samples(key: str, row: dict[str, Any]) -> list[SampleRecord]:
    codes = as_list(require(row, "code"), "code")
    arrays = {"code": codes, "pred": as_list(require(row, "pred"), "pred")}
    for name in ("score", "report", "finish_reason"):
        if row.get(name) is not None:
            arrays[name] = as_list(row[name], name)
    if any(len(values) != len(codes) for values in arrays.values()):
        lengths = ", ".join(f"{name} has {len(values)}" for name, values in arrays.items())
        raise LineError(f"the per-generation arrays differ in length: {lengths}")
    scores = arrays.get("score")
    reports = arrays.get("report")
    finish_reasons = arrays.get("finish_reason")
    samples = []
    for i, text in enumerate(codes):
        as_str(text, f"code[{i}]")
        detail = {"report": reports[i]} if reports is not None and reports[i] is not None else None
        samples.append(
            SampleRecord(
                problem_key=key,
                index=i,
                text=text,
                verdict="ungraded" if scores is None else "correct" if _score(scores[i], i) else "incorrect",
                answer=stringify(arrays["pred"][i]),
                finish_reason=(
                    None
                    if finish_reasons is None
                    else as_str(finish_reasons[i], f"finish_reason[{i}]", nullable=True)
                ),
                grader_detail=detail,
            )
        )
    return samples


def _score(value: Any, i: int) -> bool:
    """A score entry: true/false, or 0/1 (some forks write ints or floats)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return value == 1
    raise LineError(f'field "score[{i}]" must be true, false, 0 or 1, got {describe(value)}')
