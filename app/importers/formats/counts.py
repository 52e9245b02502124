"""The passk-inference counts JSONL: ``{"id", "c", "n", "source"?}``, one problem per line.

Checked as strictly as ``passk_inference.io``: ``id`` a non-empty string or an integer,
``c`` and ``n`` JSON integers (a boolean, float or string is refused), ``n >= 1`` and
``0 <= c <= n``, each id once. Other keys are ignored, as passk-inference ignores them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from app.importers.jsonl import LineError, as_int, as_key, as_str, read_objects, reading, require
from app.importers.records import CountRecord, ProblemRecord, Record


def parse(path: Path) -> Iterator[tuple[int, Record]]:
    """Yield, per line, a ProblemRecord carrying ``source`` (when given) and a CountRecord."""
    seen: dict[str, int] = {}
    for number, row in read_objects(path):
        with reading(path, number):
            key = as_key(require(row, "id"), "id")
            correct = as_int(require(row, "c"), "c", minimum=0)
            total = as_int(require(row, "n"), "n", minimum=1)
            if correct > total:
                raise LineError(f"c={correct} exceeds n={total}")
            source = as_str(row.get("source"), "source", nullable=True)
            earlier = seen.setdefault(key, number)
            if earlier != number:
                # An integer id and its decimal string name the same problem here.
                raise LineError(f'duplicate id "{key}" also at line {earlier}')
        if source is not None:
            yield number, ProblemRecord(key=key, meta={"source": source})
        yield number, CountRecord(problem_key=key, n=total, correct=correct)
