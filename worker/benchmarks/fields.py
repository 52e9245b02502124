"""Field mappings: which column of a benchmark row becomes which part of a TaskProblem.

A mapping is a dict from a *target* to a *source*::

    {"key": "unique_id", "statement": "problem", "answer": "answer", "meta.level": "level"}

Targets: ``key`` (the problem's stable id; when absent the 0-based row index), ``statement``,
``answer`` (math), ``tests`` (code: a test script, or a list of assert lines), ``setup`` (code run
before the tests, e.g. imports; a string or a list of lines), ``entry_point`` (the function under
test) and ``meta.NAME`` (any metadata, kept as the JSON value it is).

A source is a column name, optionally behind one transform, ``TRANSFORM:COLUMN``:

- ``boxed:solution`` -- the content of the last ``\\boxed{...}`` in the column (Minerva's harness file);
- ``gsm8k:answer`` -- the text after the last ``####``, stripped, without thousands separators;
- ``first:final_answer`` -- the first item of a list (or of a list written as a string), with its
  ``$`` math delimiters removed (OlympiadBench);
- ``callee:test_list`` -- the first non-builtin function called by the first test line (MBPP's
  entry point).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Mapping
from typing import Any

from app.core.errors import InvalidInputError
from app.importers.jsonl import LineError, describe
from worker.types import TaskProblem

TARGETS = ("key", "statement", "answer", "tests", "setup", "entry_point")
TRANSFORMS = ("boxed", "gsm8k", "first", "callee")

# What a code problem's statement adds after the task text, as in the MBPP paper's prompt
# ("... here is your task: {text} Your code should pass these tests:\n\n{tests}").
MBPP_TESTS_INTRO = " Your code should pass these tests:\n\n"

_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")
_KEYWORDS = frozenset({"assert", "not", "and", "or", "in", "is", "lambda", "if", "else"})
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def parse_fields(fields: Mapping[str, str], *, option: str = "fields") -> dict[str, tuple[str | None, str]]:
    """Check a mapping and split each source into (transform or None, column); errors name the target."""
    if not isinstance(fields, Mapping):
        raise InvalidInputError("must be a mapping of target to source column", field=option)
    parsed: dict[str, tuple[str | None, str]] = {}
    for target, source in fields.items():
        where = f"{option}.{target}"
        if not isinstance(target, str) or (target not in TARGETS and not _is_meta(target)):
            known = ", ".join((*TARGETS, "meta.NAME"))
            raise InvalidInputError(f"unknown target {target!r}; targets are {known}", field=option)
        if not isinstance(source, str) or not source.strip():
            raise InvalidInputError("the source must be a column name", field=where)
        transform, sep, column = source.partition(":")
        if not sep:
            parsed[target] = (None, source)
            continue
        if transform not in TRANSFORMS:
            raise InvalidInputError(
                f"unknown transform {transform!r} in {source!r}; transforms are {', '.join(TRANSFORMS)}",
                field=where,
            )
        if not column:
            raise InvalidInputError(f"{source!r} names no column after the transform", field=where)
        parsed[target] = (transform, column)
    if "statement" not in parsed:
        raise InvalidInputError("a mapping needs a statement column", field=f"{option}.statement")
    return parsed


def check_targets(
    parsed: Mapping[str, tuple[str | None, str]], *, domain: str, layout: str, option: str = "fields"
) -> None:
    """Fail when a mapping lacks what its kind of problem needs (math: answer; code: tests...)."""
    needed = ["answer"] if domain == "math" else ["tests"]
    if layout == "humaneval":
        needed.append("entry_point")
    for target in needed:
        if target not in parsed:
            raise InvalidInputError(
                f"a {domain} benchmark needs a {target} column", field=f"{option}.{target}"
            )


def _is_meta(target: str) -> bool:
    return target.startswith("meta.") and len(target) > len("meta.")


def source_columns(parsed: Mapping[str, tuple[str | None, str]]) -> set[str]:
    """The columns a parsed mapping reads."""
    return {column for _, column in parsed.values()}


def row_to_problem(
    row: Mapping[str, Any],
    index: int,
    parsed: Mapping[str, tuple[str | None, str]],
    *,
    layout: str,
    domain: str,
    constant_meta: Mapping[str, Any] | None = None,
) -> TaskProblem:
    """Build one problem from one row (mapping checked by check_targets); LineError names the column."""
    values = {target: _read(row, transform, column) for target, (transform, column) in parsed.items()}
    key = _text(values["key"], parsed["key"][1], what="key") if "key" in values else str(index)
    statement = _text(values["statement"], parsed["statement"][1], what="statement")
    meta: dict[str, Any] = dict(constant_meta or {})
    meta.update({target.removeprefix("meta."): value for target, value in values.items() if _is_meta(target)})
    if domain == "math":
        answer = _text(values["answer"], parsed["answer"][1], what="answer")
        return TaskProblem(key=key, statement=statement, answer=answer, meta=meta)
    test_lines = _lines(values["tests"], parsed["tests"][1])
    setup = _lines(values["setup"], parsed["setup"][1]) if "setup" in values else ""
    if not test_lines.strip():
        raise LineError(f'field "{parsed["tests"][1]}" (tests) is empty')
    tests = setup.rstrip() + "\n" + test_lines if setup.strip() else test_lines
    entry_point = values.get("entry_point")
    if entry_point is not None:
        entry_point = _text(entry_point, parsed["entry_point"][1], what="entry_point")
    if layout == "humaneval":
        meta.update(entry_point=entry_point, completion_mode="continue")
        return TaskProblem(key=key, statement=statement, tests=tests, meta=meta)
    statement = statement.strip() + MBPP_TESTS_INTRO + test_lines.strip()
    meta.update(entry_point=entry_point, completion_mode="full")
    return TaskProblem(key=key, statement=statement, tests=tests, meta=meta)


def _read(row: Mapping[str, Any], transform: str | None, column: str) -> Any:
    if column not in row:
        raise LineError(f'missing field "{column}"')
    value = row[column]
    if transform is None:
        return value
    try:
        if transform == "boxed":
            return last_boxed(_as_str(value, column))
        if transform == "gsm8k":
            text = _as_str(value, column)
            if "####" not in text:
                raise LineError(f'field "{column}" has no "####" before its final answer')
            return text.rsplit("####", 1)[1].strip().replace(",", "")
        if transform == "first":
            return _first_answer(value, column)
        return _callee(value, column)
    except ValueError as exc:
        if isinstance(exc, LineError):
            raise
        raise LineError(f'field "{column}": {exc}') from None


def _as_str(value: Any, column: str) -> str:
    if not isinstance(value, str):
        raise LineError(f'field "{column}" must be a string, got {describe(value)}')
    return value


def last_boxed(text: str) -> str:
    """The content of the last \\boxed{...} (or \\fbox{...}) in `text`, braces balanced."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        raise ValueError("no \\boxed{...} answer")
    brace = text.find("{", start)
    if brace < 0:
        raise ValueError("\\boxed without braces")
    depth = 0
    for end in range(brace, len(text)):
        if text[end] == "{":
            depth += 1
        elif text[end] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1 : end].strip()
    raise ValueError("unbalanced braces in \\boxed{...}")


def _first_answer(value: Any, column: str) -> str:
    items = value
    if isinstance(value, str):
        try:
            items = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            items = [value]
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list | tuple) or not items:
        raise LineError(f'field "{column}" must be a non-empty list, got {describe(value)}')
    # The harness keeps final_answer[0].strip("$"); dropping every unescaped $ gives the same text for
    # "$x$" and a clean "69,84" for "$69$,$84$", which the harness leaves as "69$,$84".
    return _UNESCAPED_DOLLAR.sub("", _text(items[0], column, what="answer")).strip()


def _callee(value: Any, column: str) -> str:
    lines = value if isinstance(value, list) else _as_str(value, column).splitlines()
    first = next((line for line in lines if isinstance(line, str) and line.strip()), None)
    if first is None:
        raise LineError(f'field "{column}" has no test line to find the function under test in')
    called = [name for name in _CALL.findall(first) if name not in _KEYWORDS]
    own = [name for name in called if not hasattr(builtins, name)]
    if own or called:
        return (own or called)[0]
    raise LineError(f'field "{column}": the first test line calls no function: {describe(first)}')


def _text(value: Any, column: str, *, what: str) -> str:
    """A scalar cell as text: integral floats lose their ".0" (AMC's 27.0 is the answer 27)."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise LineError(f'field "{column}" ({what}) must be a string or a number, got {describe(value)}')
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        text = str(value)
    if not text.strip():
        raise LineError(f'field "{column}" ({what}) is empty')
    return text


def _lines(value: Any, column: str) -> str:
    """A script column as text: a string as is, a list of lines one per line."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "".join(line + "\n" for line in value)
    raise LineError(f'field "{column}" must be a string or a list of strings, got {describe(value)}')
