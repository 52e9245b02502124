"""Coverage at k: problems solved by both runs, only one, or neither, with the evidence for "only"."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral
from typing import Any

import numpy as np
from scipy import stats

from app.stats.passk import (
    _as_fraction,
    _as_paired_counts,
    _float_list,
    _pass_matrix,
    _readonly,
    _unique_pairs,
)

# Float pass@k is accurate to ~1e-13 (n <= 4096); within this margin of the threshold the
# solved/unsolved decision is made in exact integer arithmetic instead.
_EXACT_MARGIN = 1e-9


@dataclass(frozen=True, eq=False)
class CoverageEvidence:
    """Per-problem evidence that one run's solve rate exceeds the other's, aligned with an "only" set.

    `p_value`: one-sided Fisher exact test that the solving run's per-sample rate is higher;
    `q_value`: Benjamini-Hochberg adjusted p_value across the problems of the set;
    `p_binomial`: P(X <= other run's correct count), X ~ Binomial(other n, solving run's c/n).
    """

    p_value: np.ndarray
    q_value: np.ndarray
    p_binomial: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain dict (NaN as None)."""
        return {
            "p_value": _float_list(self.p_value),
            "q_value": _float_list(self.q_value),
            "p_binomial": _float_list(self.p_binomial),
        }


@dataclass(frozen=True, eq=False)
class CoverageSets:
    """Problem positions (sorted) solved at k by both runs, only A, only B, or neither, with evidence."""

    k: int
    threshold: float
    both: np.ndarray
    only_a: np.ndarray
    only_b: np.ndarray
    neither: np.ndarray
    evidence_a: CoverageEvidence
    evidence_b: CoverageEvidence

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain dict of the four sets (problem positions) and their evidence."""
        return {
            "k": self.k,
            "threshold": self.threshold,
            "both": [int(i) for i in self.both],
            "only_a": [int(i) for i in self.only_a],
            "only_b": [int(i) for i in self.only_b],
            "neither": [int(i) for i in self.neither],
            "evidence_a": self.evidence_a.to_dict(),
            "evidence_b": self.evidence_b.to_dict(),
        }


def coverage_sets(c_a: Any, n_a: Any, c_b: Any, n_b: Any, k: int, *, threshold: float = 0.5) -> CoverageSets:
    """Split problems by whether run A and run B solve them at k, where solved means pass@k >= threshold.

    pass@k is the unbiased estimator; at k = n, "pass@k >= threshold" (any 0 < threshold <= 1) is
    "at least one correct sample", the definition of Yue et al. (2025). The comparison with the
    threshold is exact (a float threshold is read as the decimal it prints as). Problems are aligned
    by position, and k may not exceed any problem's n in either run.
    """
    c_a, n_a, c_b, n_b = _as_paired_counts(c_a, n_a, c_b, n_b)
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"k must be a positive integer (got {k!r})")
    k = int(k)
    for name, n_arr in (("n_a", n_a), ("n_b", n_b)):
        short = np.flatnonzero(n_arr < k)
        if short.size:
            i = int(short[0])
            raise ValueError(f"k={k} exceeds {name} for problem {i} ({name}={n_arr[i]}); pass@k needs k <= n")
    exact_threshold = _as_fraction(threshold, "threshold")
    if not 0 < exact_threshold <= 1:
        raise ValueError(f"threshold must satisfy 0 < threshold <= 1 (got {threshold!r})")

    solved_a = _solved_at_k(c_a, n_a, k, exact_threshold)
    solved_b = _solved_at_k(c_b, n_b, k, exact_threshold)
    only_a = np.flatnonzero(solved_a & ~solved_b)
    only_b = np.flatnonzero(solved_b & ~solved_a)
    return CoverageSets(
        k=k,
        threshold=float(exact_threshold),
        both=_readonly(np.flatnonzero(solved_a & solved_b)),
        only_a=_readonly(only_a),
        only_b=_readonly(only_b),
        neither=_readonly(np.flatnonzero(~solved_a & ~solved_b)),
        evidence_a=_only_evidence(c_a[only_a], n_a[only_a], c_b[only_a], n_b[only_a]),
        evidence_b=_only_evidence(c_b[only_b], n_b[only_b], c_a[only_b], n_a[only_b]),
    )


def _solved_at_k(c: np.ndarray, n: np.ndarray, k: int, threshold: Fraction) -> np.ndarray:
    """Whether each problem's pass@k >= threshold; exact integer comparison for near ties."""
    c_u, n_u, inverse, _ = _unique_pairs(c, n)
    pass_k = _pass_matrix(c_u, n_u, np.array([k], dtype=np.int64))[:, 0]
    solved = pass_k >= float(threshold)
    num, den = threshold.numerator, threshold.denominator
    for i in np.flatnonzero(np.abs(pass_k - float(threshold)) <= _EXACT_MARGIN):
        # 1 - C(n-c,k)/C(n,k) >= num/den  <=>  den * C(n-c,k) <= (den - num) * C(n,k)
        n_i, c_i = int(n_u[i]), int(c_u[i])
        solved[i] = den * math.comb(n_i - c_i, k) <= (den - num) * math.comb(n_i, k)
    return solved[inverse]


def _only_evidence(c_s: np.ndarray, n_s: np.ndarray, c_o: np.ndarray, n_o: np.ndarray) -> CoverageEvidence:
    """Evidence that the solving run (c_s of n_s) beats the other run (c_o of n_o), per problem."""
    # Fisher exact, one-sided "greater" on [[c_s, n_s - c_s], [c_o, n_o - c_o]]: given c_s + c_o
    # successes among n_s + n_o samples, P(at least c_s of them fall among the solving run's n_s).
    p_value = np.clip(stats.hypergeom.sf(c_s - 1, n_s + n_o, c_s + c_o, n_s), 0.0, 1.0).astype(np.float64)
    q_value = stats.false_discovery_control(p_value, method="bh") if p_value.size else np.empty(0)
    p_binomial = stats.binom.cdf(c_o, n_o, c_s / n_s).astype(np.float64)
    return CoverageEvidence(
        p_value=_readonly(np.asarray(p_value, dtype=np.float64)),
        q_value=_readonly(np.asarray(q_value, dtype=np.float64)),
        p_binomial=_readonly(np.asarray(p_binomial, dtype=np.float64)),
    )
