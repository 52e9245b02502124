"""Simultaneous band over k for pass@k(B) - pass@k(A), by the method of the `passk-inference` package."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import passk_inference

from app.stats.passk import _as_ks, _as_paired_counts, _float_list, _pass_matrix, _readonly, _unique_pairs


@dataclass(frozen=True, eq=False)
class DifferenceBand:
    """Simultaneous band over k for pass@k(B) - pass@k(A) and the budgets where B is certified better/worse.

    `first_loss_interval` is [lo, hi] bounding the first k at which B falls below A (hi None when no
    loss is certified); it is None unless ks is the dense grid 1..K. `degenerate` lists the ks whose
    difference has zero variance over problems; their band is the known support [-1, 1].
    """

    ks: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    critical_value: float
    alpha: float
    bootstrap: int
    seed: int
    b_better: list[int]
    b_worse: list[int]
    undetermined: list[int]
    first_loss_interval: list[int | None] | None
    certified_crossing: bool
    degenerate: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain dict (NaN as None)."""
        return {
            "ks": [int(k) for k in self.ks],
            "mean": _float_list(self.mean),
            "lower": _float_list(self.lower),
            "upper": _float_list(self.upper),
            "critical_value": self.critical_value if np.isfinite(self.critical_value) else None,
            "alpha": self.alpha,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "b_better": list(self.b_better),
            "b_worse": list(self.b_worse),
            "undetermined": list(self.undetermined),
            "first_loss_interval": _optional_list(self.first_loss_interval),
            "certified_crossing": self.certified_crossing,
            "degenerate": list(self.degenerate),
        }


def difference_band(
    c_a: Any,
    n_a: Any,
    c_b: Any,
    n_b: Any,
    *,
    ks: Iterable[int] | None = None,
    bootstrap: int = 4000,
    alpha: float = 0.05,
    seed: int = 0,
) -> DifferenceBand:
    """Sup-t simultaneous band for pass@k(B) - pass@k(A) over ks, as passk_inference.compare (A=base, B=rl).

    Per-problem difference rows come from our vectorised pass_at_k; the band and the certification
    come from passk_inference.simultaneous_band and passk_inference.certify. Problems are aligned by
    position; at least 2 are needed. Default ks: 1..min of every n in both runs.
    """
    c_a, n_a, c_b, n_b = _as_paired_counts(c_a, n_a, c_b, n_b)
    if c_a.size < 2:
        raise ValueError("c_a and c_b need at least 2 problems for a difference band")
    max_k = int(min(n_a.min(), n_b.min()))
    ks_arr = _as_ks(ks, max_k)
    if ks_arr[-1] > max_k:
        raise ValueError(f"ks must not exceed the smallest n in either run ({max_k}); got k={ks_arr[-1]}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, Integral) or bootstrap < 2:
        raise ValueError(f"bootstrap must be an integer >= 2 (got {bootstrap!r})")
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be strictly between 0 and 1 (got {alpha!r})")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer (got {seed!r})")

    ca_u, na_u, index_a, _ = _unique_pairs(c_a, n_a)
    cb_u, nb_u, index_b, _ = _unique_pairs(c_b, n_b)
    rows = _pass_matrix(cb_u, nb_u, ks_arr)[index_b]
    rows -= _pass_matrix(ca_u, na_u, ks_arr)[index_a]
    bootstrap, alpha, seed = int(bootstrap), float(alpha), int(seed)
    band = passk_inference.simultaneous_band(rows, bootstrap=bootstrap, alpha=alpha, seed=seed)
    lower = np.asarray(band["lower"], dtype=np.float64)
    upper = np.asarray(band["upper"], dtype=np.float64)
    # As passk_inference.compare: a zero-variance column says nothing about the population, so
    # its band is the known support of a difference of probabilities, [-1, 1].
    degenerate = np.asarray(band["degenerate_columns"], dtype=np.int64)
    lower[degenerate] = -1.0
    upper[degenerate] = 1.0
    certified = passk_inference.certify(ks_arr, lower, upper)
    better = lower > 0
    worse = upper < 0
    first_loss = certified["first_loss_interval"]
    return DifferenceBand(
        ks=_readonly(ks_arr),
        mean=_readonly(np.asarray(band["mean"], dtype=np.float64)),
        lower=_readonly(lower),
        upper=_readonly(upper),
        critical_value=float(band["critical_value"]),
        alpha=alpha,
        bootstrap=bootstrap,
        seed=seed,
        b_better=[int(k) for k in ks_arr[better]],
        b_worse=[int(k) for k in ks_arr[worse]],
        undetermined=[int(k) for k in ks_arr[~better & ~worse]],
        first_loss_interval=_optional_list(first_loss),
        certified_crossing=bool(certified["certified_crossing"]),
        degenerate=[int(k) for k in ks_arr[degenerate]],
    )


def _optional_list(interval: list[int | None] | None) -> list[int | None] | None:
    """Plain-int copy of a first-loss interval whose entries (or itself) may be None."""
    return None if interval is None else [None if v is None else int(v) for v in interval]
