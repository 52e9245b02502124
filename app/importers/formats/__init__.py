"""The import formats by name: each a pure, streaming parser from a file to records.

A parser is ``parse(path) -> Iterator[(line number, Record)]`` and touches no database;
docs/import-formats.md describes every format and how it maps onto the records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from app.core.errors import InvalidInputError
from app.importers.formats import counts, human_eval, lm_eval, math_eval, samples
from app.importers.records import Record

Parser = Callable[[Path], Iterator[tuple[int, Record]]]

FORMATS: dict[str, Parser] = {
    "samples": samples.parse,
    "counts": counts.parse,
    "math-eval": math_eval.parse,
    "human-eval": human_eval.parse,
    "lm-eval": lm_eval.parse,
}


def parse_file(format_name: str, path: Path | str) -> Iterator[tuple[int, Record]]:
    """Parse ``path`` as the named format; an unknown name is refused before the file is opened."""
    try:
        parser = FORMATS[format_name]
    except KeyError:
        raise InvalidInputError(
            f'unknown import format "{format_name}"; expected one of: ' + ", ".join(FORMATS),
            field="format",
        ) from None
    return parser(Path(path))
