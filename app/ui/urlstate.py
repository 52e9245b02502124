"""Page state <-> query string: parse what `layout(**query)` receives and write the search back.

Dash hands a page's layout the query string as keyword arguments: a string per key, a list for a repeated
key. Everything here is pure and forgiving: a malformed value is dropped (the page shows its default and
says so where it matters), never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

META_PREFIX = "meta."


def _first(value: Any) -> Any:
    """The last of a repeated key's values (a later value wins, as in a hand-edited link)."""
    if isinstance(value, (list, tuple)):
        return value[-1] if value else None
    return value


def as_int(value: Any, default: int | None = None, *, minimum: int | None = None) -> int | None:
    """`value` as an int (from "12", 12 or ["12"]), or `default` when absent, malformed or below `minimum`."""
    value = _first(value)
    if value is None or isinstance(value, bool):
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        return default
    if minimum is not None and number < minimum:
        return default
    return number


def as_int_list(value: Any) -> list[int]:
    """Ids from "3,4", ["3", "4"], "3" or 3, in order, without duplicates; malformed items are dropped."""
    if value is None:
        return []
    items: list[Any] = list(value) if isinstance(value, (list, tuple)) else [value]
    out: list[int] = []
    for item in items:
        for part in str(item).split(","):
            number = as_int(part)
            if number is not None and number not in out:
                out.append(number)
    return out


def as_choice(value: Any, choices: Iterable[str], default: str | None = None) -> str | None:
    """`value` when it is one of `choices`, else `default`."""
    value = _first(value)
    return value if isinstance(value, str) and value in set(choices) else default


def as_text(value: Any) -> str | None:
    """A non-empty string, or None."""
    value = _first(value)
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def meta_filters(query: Mapping[str, Any]) -> dict[str, str]:
    """The metadata filters of a query: `meta.subject=Algebra` -> {"subject": "Algebra"}."""
    out = {}
    for key, value in query.items():
        if key.startswith(META_PREFIX) and len(key) > len(META_PREFIX):
            text = as_text(value)
            if text is not None:
                out[key[len(META_PREFIX) :]] = text
    return out


def meta_params(filters: Mapping[str, str | None]) -> dict[str, str | None]:
    """Metadata filters as query parameters (the inverse of `meta_filters`)."""
    return {f"{META_PREFIX}{key}": value for key, value in filters.items()}


def search_string(params: Mapping[str, Any]) -> str:
    """A query string ("?a=1&runs=3,4") in the given key order; None, "" and [] are left out.

    Lists are joined with commas; an empty result is "" (no "?").
    """
    pairs = []
    for key, value in params.items():
        if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
            continue
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        pairs.append((key, str(value)))
    return f"?{urlencode(pairs, safe=',:/', quote_via=quote)}" if pairs else ""


def href(path: str, params: Mapping[str, Any]) -> str:
    """`path` with the query string of `params`."""
    return f"{path}{search_string(params)}"
