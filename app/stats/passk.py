"""Unbiased pass@k per problem and its mean curve, vectorised over every k and problem."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from numbers import Integral
from typing import Any

import numpy as np

# Elements per intermediate block; bounds memory at about 32 MiB of float64 per block.
_BLOCK_ELEMENTS = 1 << 22


def _as_counts(c: Any, n: Any, *, c_name: str = "c", n_name: str = "n") -> tuple[np.ndarray, np.ndarray]:
    """Validate per-problem correct counts `c` and sample counts `n`; return them as int64 arrays."""
    c_arr = _as_int_vector(c, c_name)
    n_arr = _as_int_vector(n, n_name)
    if c_arr.shape != n_arr.shape:
        raise ValueError(
            f"{c_name} and {n_name} must have the same length (got {c_arr.size} and {n_arr.size})"
        )
    bad_n = np.flatnonzero(n_arr < 1)
    if bad_n.size:
        i = int(bad_n[0])
        raise ValueError(f"{n_name} must be >= 1 for every problem (problem {i} has {n_name}={n_arr[i]})")
    bad_c = np.flatnonzero((c_arr < 0) | (c_arr > n_arr))
    if bad_c.size:
        i = int(bad_c[0])
        raise ValueError(
            f"{c_name} must satisfy 0 <= {c_name} <= {n_name} for every problem "
            f"(problem {i} has {c_name}={c_arr[i]}, {n_name}={n_arr[i]})"
        )
    return c_arr, n_arr


def _as_paired_counts(
    c_a: Any, n_a: Any, c_b: Any, n_b: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate the counts of two runs on the same problems (aligned by position)."""
    c_a, n_a = _as_counts(c_a, n_a, c_name="c_a", n_name="n_a")
    c_b, n_b = _as_counts(c_b, n_b, c_name="c_b", n_name="n_b")
    if c_a.size != c_b.size:
        raise ValueError(f"c_a and c_b must cover the same problems (got {c_a.size} and {c_b.size} problems)")
    return c_a, n_a, c_b, n_b


def _as_int_vector(values: Any, name: str) -> np.ndarray:
    """Return a non-empty 1-D int64 copy of `values`; integral floats are accepted, bools are not."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D array of integers") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of integers (got {arr.ndim} dimensions)")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr)):
        return arr.astype(np.int64)
    raise ValueError(f"{name} must contain integers (got dtype {arr.dtype})")


def _as_ks(ks: Iterable[int] | None, default_max: int, *, name: str = "ks") -> np.ndarray:
    """Validate budgets: strictly increasing positive integers; None means every k from 1 to default_max."""
    if ks is None:
        return np.arange(1, default_max + 1, dtype=np.int64)
    if isinstance(ks, (int, np.integer)):
        raise ValueError(f"{name} must be a sequence of integers; for a single budget pass [{ks}]")
    arr = _as_int_vector(list(ks), name)
    if arr[0] < 1:
        raise ValueError(f"{name} must be positive (got k={arr[0]})")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing without duplicates")
    return arr


def _unique_pairs(c: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the unique (c, n) pairs sorted by (n, c), each problem's pair index, and pair counts."""
    key = n * (int(n.max()) + 1) + c
    unique_key, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    n_u, c_u = np.divmod(unique_key, int(n.max()) + 1)
    return c_u, n_u, inverse.reshape(-1), counts


def _pass_matrix(c: np.ndarray, n: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Return pass@k for each row (c_i, n_i) and each k in ks as a (rows, len(ks)) array, NaN where k > n_i.

    Uses 1 - prod_{j<k} (n-c-j)/(n-j): a running product along j, which is exactly 0 from
    j = n-c on (clamped numerator) and NaN from j = n on (no estimator beyond n samples).
    Rows should be sorted by n so that each block only runs as far as its own largest n.
    """
    out = np.full((c.size, ks.size), np.nan)
    block_rows = max(1, _BLOCK_ELEMENTS // int(min(ks[-1], n.max())))
    for start in range(0, c.size, block_rows):
        stop = min(c.size, start + block_rows)
        k_stop = int(min(ks[-1], n[start:stop].max()))
        cols = np.flatnonzero(ks <= k_stop)
        if cols.size:
            j = np.arange(k_stop, dtype=np.int64)[None, :]
            c_b = c[start:stop, None]
            n_b = n[start:stop, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                factors = np.maximum(n_b - c_b - j, 0) / (n_b - j)
            factors[j >= n_b] = np.nan
            np.cumprod(factors, axis=1, out=factors)
            out[start:stop, cols] = 1.0 - factors[:, ks[cols] - 1]
    return out


def pass_at_k(c: Any, n: Any, ks: Iterable[int] | None = None) -> np.ndarray:
    """Unbiased pass@k of every problem at every k, shape (problems, len(ks)); NaN where k > n.

    The estimator is 1 - C(n-c, k) / C(n, k) (Chen et al. 2021) evaluated in product form.
    For k > n it is undefined and returned as NaN, never 1.0. Default ks: 1..max(n).
    """
    c_arr, n_arr = _as_counts(c, n)
    ks_arr = _as_ks(ks, int(n_arr.max()))
    c_u, n_u, inverse, _ = _unique_pairs(c_arr, n_arr)
    return _pass_matrix(c_u, n_u, ks_arr)[inverse]


def pass_at_k_curve(c: Any, n: Any, ks: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean pass@k over problems at each k, returned as (ks, mean).

    Unequal n: the curve at k averages every problem, so it is defined only for k <= min(n);
    a requested k > min(n) gives NaN at that k rather than an average over the problems that
    have enough samples (that subset average would be biased). Default ks: 1..min(n).
    """
    c_arr, n_arr = _as_counts(c, n)
    ks_arr = _as_ks(ks, int(n_arr.min()))
    c_u, n_u, _, counts = _unique_pairs(c_arr, n_arr)
    return ks_arr, _weighted_mean(_pass_matrix(c_u, n_u, ks_arr), counts)


def _weighted_mean(matrix: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean over problems of rows given once per unique row with their multiplicities; NaN propagates."""
    return (counts.astype(np.float64) @ matrix) / counts.sum()


def _float_list(values: np.ndarray) -> list[float | None]:
    """Plain JSON-ready list of floats with NaN and infinities as None."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


def _readonly(arr: np.ndarray) -> np.ndarray:
    """Return `arr` marked read-only, so frozen result objects stay frozen."""
    arr.setflags(write=False)
    return arr


def _as_fraction(value: Any, name: str) -> Fraction:
    """Exact rational value of a threshold; a float is read as the decimal it prints as (0.1 -> 1/10)."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number (got {value!r})")
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite (got {value!r})")
        return Fraction(repr(float(value)))
    if isinstance(value, (Integral, Fraction, Decimal)):
        return Fraction(value)
    raise ValueError(f"{name} must be a number (got {value!r})")
