"""curve_interval and paired_difference_interval: reproducibility, width, agreement with a naive bootstrap."""

import dataclasses
import json

import numpy as np
import pytest
from scipy.special import betaln

from app.stats import intervals
from app.stats.intervals import CurveEstimate, curve_interval, paired_difference_interval
from app.stats.passk import pass_at_k, pass_at_k_curve


def sample_counts(rng, problems, n, a=0.5, b=0.8):
    """Correct counts of `problems` problems with Beta(a, b) solve rates and n samples each."""
    n_arr = np.full(problems, n) if np.isscalar(n) else np.asarray(n)
    return rng.binomial(n_arr, rng.beta(a, b, problems)), n_arr


def naive_bootstrap(rows, bootstrap, seed):
    """Means of `rows` over problem indices resampled with replacement, one resample at a time."""
    rng = np.random.default_rng(seed)
    problems = rows.shape[0]
    return np.array([rows[rng.integers(0, problems, problems)].mean(axis=0) for _ in range(bootstrap)])


def test_same_seed_reproduces_and_other_seed_differs():
    c, n = sample_counts(np.random.default_rng(1), 300, 32)
    first = curve_interval(c, n, bootstrap=300, seed=5)
    again = curve_interval(c, n, bootstrap=300, seed=5)
    other = curve_interval(c, n, bootstrap=300, seed=6)
    np.testing.assert_array_equal(first.lower, again.lower)
    np.testing.assert_array_equal(first.upper, again.upper)
    np.testing.assert_array_equal(first.mean, other.mean)
    assert not np.array_equal(first.lower, other.lower)
    assert (first.seed, first.bootstrap, first.confidence) == (5, 300, 0.95)


def test_mean_is_the_curve_and_lies_inside_the_interval():
    rng = np.random.default_rng(2)
    for _ in range(5):
        c, n = sample_counts(rng, int(rng.integers(20, 400)), rng.integers(4, 64, 1)[0])
        est = curve_interval(c, n, bootstrap=400, seed=int(rng.integers(1000)))
        _, curve = pass_at_k_curve(c, n)
        np.testing.assert_allclose(est.mean, curve, atol=1e-14)
        np.testing.assert_array_equal(est.ks, np.arange(1, n.min() + 1))
        assert np.all(est.lower <= est.mean + 1e-12)
        assert np.all(est.mean <= est.upper + 1e-12)
        assert np.all(est.lower >= -1e-12) and np.all(est.upper <= 1 + 1e-12)


def test_interval_narrows_with_more_problems():
    rng = np.random.default_rng(3)
    small = curve_interval(*sample_counts(rng, 100, 16), bootstrap=500)
    large = curve_interval(*sample_counts(rng, 1600, 16), bootstrap=500)
    small_width = small.upper - small.lower
    large_width = large.upper - large.lower
    assert np.all(large_width < small_width)
    # Width scales like 1/sqrt(problems): 16x the problems, about a quarter of the width.
    assert np.all(large_width / small_width < 0.4)


def test_higher_confidence_gives_a_wider_interval():
    c, n = sample_counts(np.random.default_rng(4), 200, 16)
    narrow = curve_interval(c, n, bootstrap=500, confidence=0.5)
    wide = curve_interval(c, n, bootstrap=500, confidence=0.99)
    assert np.all(wide.lower <= narrow.lower) and np.all(wide.upper >= narrow.upper)
    assert np.all(wide.upper - wide.lower > narrow.upper - narrow.lower)


def test_multinomial_resampling_matches_naive_index_resampling_in_distribution():
    rng = np.random.default_rng(5)
    c, n = sample_counts(rng, 250, rng.integers(8, 24, 250))
    ks = np.arange(1, 9)
    rows = pass_at_k(c, n, ks)
    bootstrap = 4000
    naive = naive_bootstrap(rows, bootstrap, seed=99)

    c_u, n_u, _, counts = intervals._unique_pairs(c, n)
    fast = intervals._resampled_means(intervals._pass_matrix(c_u, n_u, ks), counts, bootstrap, rng)
    exact_mean = rows.mean(axis=0)
    spread = naive.std(axis=0)
    # Both resampling schemes are centred on the sample mean, with the same spread.
    assert np.all(np.abs(fast.mean(axis=0) - exact_mean) < 4 * spread / np.sqrt(bootstrap))
    assert np.all(np.abs(naive.mean(axis=0) - exact_mean) < 4 * spread / np.sqrt(bootstrap))
    np.testing.assert_allclose(fast.std(axis=0), spread, rtol=0.08)
    est = curve_interval(c, n, ks, bootstrap=bootstrap, seed=1)
    naive_lower, naive_upper = np.quantile(naive, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(est.lower, naive_lower, atol=0.15 * spread.max() * 4)
    np.testing.assert_allclose(est.upper, naive_upper, atol=0.15 * spread.max() * 4)


def test_interval_covers_the_population_curve_at_about_the_nominal_rate():
    # Solve rates ~ Beta(a, b): the population pass@k is 1 - B(a, b + k) / B(a, b).
    a, b, n, ks = 0.6, 1.2, 16, np.array([1, 4, 16])
    truth = 1 - np.exp(betaln(a, b + ks) - betaln(a, b))
    rng = np.random.default_rng(6)
    repeats = 200
    covered = np.zeros(ks.size)
    for i in range(repeats):
        c, n_arr = sample_counts(rng, 150, n, a, b)
        est = curve_interval(c, n_arr, ks, bootstrap=300, confidence=0.9, seed=i)
        covered += (est.lower <= truth) & (truth <= est.upper)
    rate = covered / repeats
    assert np.all(rate > 0.82) and np.all(rate < 0.97), rate


def test_blocking_does_not_change_results(monkeypatch):
    c, n = sample_counts(np.random.default_rng(7), 400, 40)
    whole = curve_interval(c, n, bootstrap=200, seed=3)
    monkeypatch.setattr(intervals, "_BLOCK_ELEMENTS", 500)
    blocked = curve_interval(c, n, bootstrap=200, seed=3)
    # Same multinomial draws; only the matrix-product rounding may differ between block sizes.
    np.testing.assert_allclose(blocked.lower, whole.lower, rtol=0, atol=1e-14)
    np.testing.assert_allclose(blocked.upper, whole.upper, rtol=0, atol=1e-14)


def test_k_beyond_min_n_is_nan_everywhere():
    est = curve_interval([1, 3, 0, 2], [4, 8, 8, 6], ks=[1, 4, 5, 8], bootstrap=50)
    assert np.isfinite(est.mean[:2]).all() and np.isfinite(est.lower[:2]).all()
    for arr in (est.mean, est.lower, est.upper):
        assert np.isnan(arr[2:]).all()
    payload = est.to_dict()
    assert payload["mean"][2:] == [None, None] and payload["ks"] == [1, 4, 5, 8]
    json.dumps(payload, allow_nan=False)


def test_single_problem_gives_a_zero_width_interval():
    est = curve_interval([3], [8], bootstrap=20)
    np.testing.assert_array_equal(est.lower, est.mean)
    np.testing.assert_array_equal(est.upper, est.mean)


def test_estimate_is_frozen_and_read_only():
    est = curve_interval([1, 2], [4, 4], bootstrap=10)
    assert isinstance(est, CurveEstimate)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.seed = 3
    with pytest.raises(ValueError):
        est.mean[0] = 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bootstrap": 1}, "bootstrap must be an integer >= 2"),
        ({"bootstrap": 10.0}, "bootstrap must be an integer >= 2"),
        ({"confidence": 1.0}, "confidence must be strictly between 0 and 1"),
        ({"confidence": 0}, "confidence must be strictly between 0 and 1"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": None}, "seed must be a non-negative integer"),
        ({"ks": [0, 1]}, "ks must be positive"),
    ],
)
def test_bad_options_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        curve_interval([1, 2], [4, 4], **kwargs)
    with pytest.raises(ValueError, match=message):
        paired_difference_interval([1, 2], [4, 4], [1, 2], [4, 4], **kwargs)


def test_paired_identical_runs_give_zero_width_interval_at_zero():
    c, n = sample_counts(np.random.default_rng(8), 300, 12)
    est = paired_difference_interval(c, n, c, n, bootstrap=200)
    for arr in (est.mean, est.lower, est.upper):
        np.testing.assert_array_equal(arr, np.zeros(12))


def test_paired_mean_is_difference_of_curves_and_nan_beyond_min_n():
    rng = np.random.default_rng(9)
    c_a, n_a = sample_counts(rng, 200, rng.integers(5, 20, 200))
    c_b, n_b = sample_counts(rng, 200, rng.integers(5, 20, 200), a=0.9, b=0.7)
    ks = [1, 2, 3, 5, 25]
    est = paired_difference_interval(c_a, n_a, c_b, n_b, ks, bootstrap=300)
    _, curve_a = pass_at_k_curve(c_a, n_a, ks)
    _, curve_b = pass_at_k_curve(c_b, n_b, ks)
    np.testing.assert_allclose(est.mean[:4], (curve_b - curve_a)[:4], atol=1e-14)
    assert np.isnan(est.mean[4]) and np.isnan(est.lower[4]) and np.isnan(est.upper[4])
    assert np.all(est.lower[:4] <= est.mean[:4]) and np.all(est.mean[:4] <= est.upper[:4])
    default = paired_difference_interval(c_a, n_a, c_b, n_b, bootstrap=20)
    np.testing.assert_array_equal(default.ks, np.arange(1, min(n_a.min(), n_b.min()) + 1))


def test_paired_interval_matches_naive_paired_bootstrap_and_beats_unpaired_width():
    rng = np.random.default_rng(10)
    problems, n = 300, 16
    rate = rng.beta(0.5, 0.8, problems)
    c_a = rng.binomial(n, rate)
    c_b = rng.binomial(n, np.clip(rate + 0.05, 0, 1))
    n_arr = np.full(problems, n)
    est = paired_difference_interval(c_a, n_arr, c_b, n_arr, bootstrap=3000, seed=2)
    diff_rows = pass_at_k(c_b, n_arr) - pass_at_k(c_a, n_arr)
    naive = naive_bootstrap(diff_rows, 3000, seed=77)
    naive_lower, naive_upper = np.quantile(naive, [0.025, 0.975], axis=0)
    spread = naive.std(axis=0)
    assert np.all(np.abs(est.lower - naive_lower) < 0.6 * spread)
    assert np.all(np.abs(est.upper - naive_upper) < 0.6 * spread)
    # Same problems in both runs: pairing removes the between-problem variance.
    width_a = (
        curve_interval(c_a, n_arr, bootstrap=3000).upper - curve_interval(c_a, n_arr, bootstrap=3000).lower
    )
    assert np.all(est.upper - est.lower < width_a)


def test_paired_requires_aligned_problems():
    with pytest.raises(ValueError, match="same problems"):
        paired_difference_interval([1, 2], [4, 4], [1], [4])
    with pytest.raises(ValueError, match="c_b must satisfy"):
        paired_difference_interval([1, 2], [4, 4], [1, 5], [4, 4])
