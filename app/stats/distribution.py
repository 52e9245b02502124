"""Distribution of per-problem accuracy c/n: the histogram of Yue et al. (2025), mean accuracy, cover@tau."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.stats.passk import _as_counts, _as_fraction

ACCURACY_BINS: tuple[str, ...] = (
    "0",
    *(f"({j / 10:g},{(j + 1) / 10:g}]" for j in range(9)),
    "(0.9,1)",
    "1",
)
"""Accuracy histogram bins: exactly 0, (0,0.1], ..., (0.8,0.9], (0.9,1) open at 1, and exactly 1."""


def accuracy_histogram(c: Any, n: Any) -> dict[str, list]:
    """Histogram of per-problem accuracy c/n over ACCURACY_BINS, as labels, counts and fractions.

    Bins are assigned with exact integer comparisons (10c against j*n), so c/n = 0.1 lands in (0,0.1].
    """
    c_arr, n_arr = _as_counts(c, n)
    # For 0 < c < n, c/n lies in (j/10, (j+1)/10] exactly when ceil(10c/n) = j + 1.
    tenths = -((-10 * c_arr) // n_arr)
    index = np.where(c_arr == 0, 0, np.where(c_arr == n_arr, len(ACCURACY_BINS) - 1, tenths))
    counts = np.bincount(index, minlength=len(ACCURACY_BINS))
    return {
        "labels": list(ACCURACY_BINS),
        "counts": [int(v) for v in counts],
        "fractions": [float(v) / c_arr.size for v in counts],
    }


def mean_accuracy(c: Any, n: Any) -> float:
    """Mean over problems of the per-problem accuracy c/n (equal to pass@1 averaged over problems)."""
    c_arr, n_arr = _as_counts(c, n)
    return float(np.mean(c_arr / n_arr))


def cover_at_tau(c: Any, n: Any, tau: float) -> float:
    """Fraction of problems whose accuracy c/n is at least tau, for 0 < tau <= 1.

    The comparison c/n >= tau is exact: tau is taken as a fraction a/b (a float as the decimal it
    prints as, so 0.1 is 1/10) and the test is c*b >= a*n in integers, free of float tolerance.
    """
    c_arr, n_arr = _as_counts(c, n)
    exact_tau = _as_fraction(tau, "tau")
    if not 0 < exact_tau <= 1:
        raise ValueError(f"tau must satisfy 0 < tau <= 1 (got {tau!r})")
    a, b = exact_tau.numerator, exact_tau.denominator
    covered = c_arr.astype(object) * b >= n_arr.astype(object) * a
    return float(np.count_nonzero(covered)) / c_arr.size
