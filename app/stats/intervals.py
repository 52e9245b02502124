"""Percentile-bootstrap intervals over problems for a pass@k curve and for a paired difference."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from app.stats.passk import (
    _as_counts,
    _as_ks,
    _as_paired_counts,
    _float_list,
    _pass_matrix,
    _readonly,
    _unique_pairs,
    _weighted_mean,
)

# Elements per block of bootstrap weights or resampled curves; bounds memory at about 32 MiB.
_BLOCK_ELEMENTS = 1 << 22


@dataclass(frozen=True, eq=False)
class CurveEstimate:
    """A mean pass@k curve (or paired difference of curves) with its pointwise bootstrap interval."""

    ks: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    confidence: float
    bootstrap: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain dict (NaN as None)."""
        return {
            "ks": [int(k) for k in self.ks],
            "mean": _float_list(self.mean),
            "lower": _float_list(self.lower),
            "upper": _float_list(self.upper),
            "confidence": self.confidence,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
        }


def curve_interval(
    c: Any,
    n: Any,
    ks: Iterable[int] | None = None,
    *,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> CurveEstimate:
    """Mean pass@k curve with a seeded percentile-bootstrap interval, resampling problems.

    Default ks: 1..min(n); a k > min(n) is NaN (see pass_at_k_curve), interval included.
    """
    c_arr, n_arr = _as_counts(c, n)
    ks_arr = _as_ks(ks, int(n_arr.min()))
    bootstrap, confidence, seed = _check_resampling(bootstrap, confidence, seed)
    c_u, n_u, _, counts = _unique_pairs(c_arr, n_arr)
    return _bootstrap_estimate(_pass_matrix(c_u, n_u, ks_arr), counts, ks_arr, bootstrap, confidence, seed)


def paired_difference_interval(
    c_a: Any,
    n_a: Any,
    c_b: Any,
    n_b: Any,
    ks: Iterable[int] | None = None,
    *,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> CurveEstimate:
    """Pointwise pass@k(B) - pass@k(A) with a paired percentile-bootstrap interval (same problems resampled).

    Problems are aligned by position. Default ks: 1..min of every n in both runs; larger k give NaN.
    """
    c_a, n_a, c_b, n_b = _as_paired_counts(c_a, n_a, c_b, n_b)
    ks_arr = _as_ks(ks, int(min(n_a.min(), n_b.min())))
    bootstrap, confidence, seed = _check_resampling(bootstrap, confidence, seed)
    difference, counts = _paired_difference_matrix(c_a, n_a, c_b, n_b, ks_arr)
    return _bootstrap_estimate(difference, counts, ks_arr, bootstrap, confidence, seed)


def _paired_difference_matrix(
    c_a: np.ndarray, n_a: np.ndarray, c_b: np.ndarray, n_b: np.ndarray, ks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """pass@k(B) - pass@k(A) once per unique (c_a, n_a, c_b, n_b) tuple, with the tuples' multiplicities."""
    ca_u, na_u, index_a, _ = _unique_pairs(c_a, n_a)
    cb_u, nb_u, index_b, _ = _unique_pairs(c_b, n_b)
    key = index_a * cb_u.size + index_b
    unique_key, counts = np.unique(key, return_counts=True)
    tuple_a, tuple_b = np.divmod(unique_key, cb_u.size)
    difference = _pass_matrix(cb_u, nb_u, ks)[tuple_b] - _pass_matrix(ca_u, na_u, ks)[tuple_a]
    return difference, counts


def _check_resampling(bootstrap: Any, confidence: Any, seed: Any) -> tuple[int, float, int]:
    """Validate resamples (integer >= 2), confidence level (0 < confidence < 1) and seed (integer >= 0)."""
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, Integral) or bootstrap < 2:
        raise ValueError(f"bootstrap must be an integer >= 2 (got {bootstrap!r})")
    if isinstance(confidence, bool) or not isinstance(confidence, Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1 (got {confidence!r})")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")
    return int(bootstrap), float(confidence), int(seed)


def _bootstrap_estimate(
    matrix: np.ndarray, counts: np.ndarray, ks: np.ndarray, bootstrap: int, confidence: float, seed: int
) -> CurveEstimate:
    """Percentile interval of the mean of `matrix` rows (unique rows with multiplicities) under resampling.

    Drawing P problems with replacement is, in distribution, a multinomial draw of how often each
    unique row is taken, with probabilities counts / P; each resampled curve is then W @ matrix / P.
    """
    mean = _weighted_mean(matrix, counts)
    lower = np.full(ks.size, np.nan)
    upper = np.full(ks.size, np.nan)
    finite = np.flatnonzero(np.isfinite(mean))
    if finite.size:
        curves = _resampled_means(matrix[:, finite], counts, bootstrap, np.random.default_rng(seed))
        tail = (1.0 - confidence) / 2.0
        lower[finite], upper[finite] = np.quantile(curves, [tail, 1.0 - tail], axis=0)
    return CurveEstimate(
        ks=_readonly(ks.copy()),
        mean=_readonly(mean),
        lower=_readonly(lower),
        upper=_readonly(upper),
        confidence=confidence,
        bootstrap=bootstrap,
        seed=seed,
    )


def _resampled_means(
    matrix: np.ndarray, counts: np.ndarray, bootstrap: int, rng: np.random.Generator
) -> np.ndarray:
    """`bootstrap` resampled mean rows, shape (bootstrap, columns); blocks bound memory, not the draws."""
    problems = int(counts.sum())
    probabilities = counts / problems
    out = np.empty((bootstrap, matrix.shape[1]))
    block = max(1, _BLOCK_ELEMENTS // max(matrix.shape[0], matrix.shape[1]))
    for start in range(0, bootstrap, block):
        stop = min(bootstrap, start + block)
        weights = rng.multinomial(problems, probabilities, size=stop - start)
        np.matmul(weights.astype(np.float64), matrix, out=out[start:stop])
    out /= problems
    return out
