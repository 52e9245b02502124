"""Streaming JSON Lines reading and the field checks that every import format shares.

Every parser reads its file through :func:`read_objects`, which yields one decoded JSON
object per non-blank line without loading the file into memory, and checks fields with
the ``as_*`` functions here. Those raise :class:`LineError` with the bare reason
(``field "c" must be an integer, got "3"``); :func:`reading` turns it into an
:class:`~app.core.errors.ImportFormatError` that names the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.core.errors import ImportFormatError

_SHOWN_CHARS = 60


class LineError(ValueError):
    """What is wrong with one line; :func:`reading` adds the file and the line number."""


def describe(value: Any) -> str:
    """Show a JSON value in an error message as the file spells it, shortened when long."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _reject_constant(name: str) -> Any:
    raise LineError(f"invalid JSON: {name} is not a number JSON allows")


def _decode(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise LineError(f"invalid JSON: {exc.msg} at column {exc.colno}") from exc


def read_lines(path: Path | str) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, decoded JSON value)`` for each non-blank line, one line at a time.

    Raises ImportFormatError for a file that is missing, unreadable, not UTF-8, holds invalid
    JSON on some line (at that line, after the lines before it were yielded) or holds no
    JSON line at all.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ImportFormatError(str(path), None, "file not found") from None
    except IsADirectoryError:
        raise ImportFormatError(str(path), None, "is a directory, not a file") from None
    except OSError as exc:
        raise ImportFormatError(str(path), None, f"cannot read the file: {exc.strerror}") from None
    found = False
    with handle:
        # Binary iteration splits on b"\n" only, so U+2028 and lone "\r" inside a line
        # (both legal raw in a JSON string) never split a record.
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFormatError(
                    str(path),
                    number,
                    f"not UTF-8: invalid byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line",
                ) from None
            if number == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                continue
            with reading(path, number):
                value = _decode(text)
            found = True
            yield number, value
    if not found:
        raise ImportFormatError(str(path), None, "the file is empty (no JSON lines)")


def read_objects(path: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Like :func:`read_lines`, but every line must hold a JSON object."""
    for number, value in read_lines(path):
        if not isinstance(value, dict):
            raise ImportFormatError(
                str(path), number, f"each line must be a JSON object, got {json_type(value)}"
            )
        yield number, value


@contextmanager
def reading(path: Path | str, line: int | None) -> Iterator[None]:
    """Turn a :class:`LineError` raised inside the block into an ImportFormatError at ``path:line``."""
    try:
        yield
    except LineError as exc:
        raise ImportFormatError(str(path), line, str(exc)) from None


def json_type(value: Any) -> str:
    """Name a decoded JSON value's type the way the JSON spec does (object, array, string...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def require(obj: dict[str, Any], name: str, *, label: str | None = None) -> Any:
    """Return ``obj[name]``, or fail with 'missing field "name"'."""
    if name not in obj:
        raise LineError(f'missing field "{label or name}"')
    return obj[name]


def _wrong(label: str, expected: str, value: Any) -> LineError:
    return LineError(f'field "{label}" must be {expected}, got {describe(value)}')


def as_str(value: Any, label: str, *, nullable: bool = False) -> Any:
    """Check that a field holds a string (or null when ``nullable``) and return it."""
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _wrong(label, "a string or null" if nullable else "a string", value)
    return value


def as_int(value: Any, label: str, *, minimum: int | None = None, nullable: bool = False) -> Any:
    """Check that a field holds a JSON integer (never a boolean, float or string) at least ``minimum``."""
    if value is None and nullable:
        return None
    if type(value) is not int:
        raise _wrong(label, "an integer or null" if nullable else "an integer", value)
    if minimum is not None and value < minimum:
        raise LineError(f'field "{label}" must be at least {minimum}, got {value}')
    return value


def as_number(value: Any, label: str, *, nullable: bool = False) -> Any:
    """Check that a field holds a JSON number (integer or float, never a boolean)."""
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(label, "a number or null" if nullable else "a number", value)
    return value


def as_bool(value: Any, label: str) -> bool:
    """Check that a field holds true or false."""
    if not isinstance(value, bool):
        raise _wrong(label, "true or false", value)
    return value


def as_object(value: Any, label: str, *, nullable: bool = False) -> Any:
    """Check that a field holds a JSON object (or null when ``nullable``)."""
    if value is None and nullable:
        return None
    if not isinstance(value, dict):
        raise _wrong(label, "an object or null" if nullable else "an object", value)
    return value


def as_list(value: Any, label: str) -> list[Any]:
    """Check that a field holds a JSON array."""
    if not isinstance(value, list):
        raise _wrong(label, "an array", value)
    return value


def as_key(value: Any, label: str) -> str:
    """Check a problem identifier: a non-empty string or an integer, returned as a string."""
    if isinstance(value, str) and value != "":
        return value
    if type(value) is int:
        return str(value)
    raise _wrong(label, "a non-empty string or an integer", value)


def as_choice(value: Any, label: str, choices: Collection[str]) -> str:
    """Check that a field holds one of a fixed set of strings."""
    if not isinstance(value, str) or value not in choices:
        raise _wrong(label, "one of " + ", ".join(choices), value)
    return value


def reject_unknown(obj: dict[str, Any], known: Collection[str], *, where: str) -> None:
    """Fail on the first key of ``obj`` that ``known`` does not list."""
    for name in obj:
        if name not in known:
            raise LineError(f'unknown field "{name}" in {where}; expected only: ' + ", ".join(known))


def stringify(value: Any) -> str | None:
    """A JSON value as text: strings unchanged, null as None, anything else as compact JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
