"""Pure choices the pages make from what is stored: default runs to compare, valid k, facet keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COVERAGE_TILES = ("both", "only_a", "only_b", "neither")


def default_pair(
    runs: Sequence[Mapping[str, Any]], a: int | None, b: int | None
) -> tuple[int | None, int | None]:
    """Runs A and B to compare among `runs` (dicts with id and kind): keep valid choices, else take a base
    run as A and the first other run as B, so that B - A reads "what training changed"."""
    ids = [int(r["id"]) for r in runs]
    if a in ids and b in ids and a != b:
        return a, b
    if len(ids) < 2:
        return (ids[0] if ids else None), None
    if a not in ids:
        bases = [int(r["id"]) for r in runs if r.get("kind") == "base" and int(r["id"]) != b]
        a = bases[0] if bases else next(i for i in ids if i != b)
    if b not in ids or b == a:
        b = next(i for i in ids if i != a)
    return a, b


def clamp_k(k: int | None, max_k: int, default: int | None = None) -> int:
    """k within 1..max_k; `default` (else max_k) when k is missing."""
    if k is None:
        k = default if default is not None else max_k
    return max(1, min(int(k), max_k))


def k_marks(max_k: int) -> list[int]:
    """The ks offered in pickers: powers of two up to max_k, and max_k."""
    if max_k < 1:
        return []
    marks = [1 << i for i in range(max_k.bit_length()) if 1 << i <= max_k]
    return marks if marks[-1] == max_k else [*marks, max_k]


def facet_keys(facets: Mapping[str, Sequence[str]], *, max_values: int = 12) -> list[str]:
    """Metadata keys worth faceting or filtering by: 2..max_values distinct values."""
    return [key for key, values in facets.items() if 2 <= len(values) <= max_values]
