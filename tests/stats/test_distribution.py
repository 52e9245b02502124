"""Accuracy histogram bins, mean accuracy and cover@tau, checked with exact rationals at the boundaries."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.stats.distribution import ACCURACY_BINS, accuracy_histogram, cover_at_tau, mean_accuracy


def exact_bin(c: int, n: int) -> str:
    """Label of the bin holding c/n, decided in exact rationals."""
    acc = Fraction(c, n)
    if acc == 0:
        return "0"
    if acc == 1:
        return "1"
    if acc > Fraction(9, 10):
        return "(0.9,1)"
    j = next(j for j in range(1, 10) if acc <= Fraction(j, 10))
    return ACCURACY_BINS[j]


def test_bins_are_the_papers_twelve():
    assert list(ACCURACY_BINS) == [
        "0",
        "(0,0.1]",
        "(0.1,0.2]",
        "(0.2,0.3]",
        "(0.3,0.4]",
        "(0.4,0.5]",
        "(0.5,0.6]",
        "(0.6,0.7]",
        "(0.7,0.8]",
        "(0.8,0.9]",
        "(0.9,1)",
        "1",
    ]


@pytest.mark.parametrize(
    ("c", "n", "label"),
    [
        (0, 7, "0"),
        (1, 10, "(0,0.1]"),
        (10, 100, "(0,0.1]"),
        (101, 1000, "(0.1,0.2]"),
        (3, 10, "(0.2,0.3]"),  # 3/10 * 10 is 3.0000000000000004 in floats
        (7, 10, "(0.6,0.7]"),
        (9, 10, "(0.8,0.9]"),
        (901, 1000, "(0.9,1)"),
        (999, 1000, "(0.9,1)"),
        (1023, 1024, "(0.9,1)"),
        (5, 5, "1"),
        (1, 1024, "(0,0.1]"),
    ],
)
def test_boundary_values_land_in_the_right_bin(c, n, label):
    hist = accuracy_histogram([c], [n])
    assert hist["labels"][hist["counts"].index(1)] == label
    assert sum(hist["counts"]) == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), min_size=1))
def test_histogram_matches_exact_binning(pairs):
    c, n = zip(*pairs, strict=True)
    hist = accuracy_histogram(c, n)
    expected = [sum(exact_bin(ci, ni) == label for ci, ni in pairs) for label in ACCURACY_BINS]
    assert hist["counts"] == expected
    assert sum(hist["counts"]) == len(pairs)
    assert sum(hist["fractions"]) == pytest.approx(1.0)
    assert hist["labels"] == list(ACCURACY_BINS)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), min_size=1))
def test_mean_accuracy_is_the_mean_of_c_over_n(pairs):
    c, n = zip(*pairs, strict=True)
    exact = sum(Fraction(ci, ni) for ci, ni in pairs) / len(pairs)
    assert mean_accuracy(c, n) == pytest.approx(float(exact), abs=1e-14)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), min_size=1),
    st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1, Fraction(1, 3), 0.123]),
)
def test_cover_at_tau_is_exact(pairs, tau):
    c, n = zip(*pairs, strict=True)
    t = Fraction(str(tau)) if isinstance(tau, float) else Fraction(tau)
    expected = sum(Fraction(ci, ni) >= t for ci, ni in pairs) / len(pairs)
    assert cover_at_tau(c, n, tau) == float(expected)


def test_cover_at_tau_boundaries():
    c, n = [3, 2, 10, 9, 0], [10, 10, 10, 10, 10]
    assert cover_at_tau(c, n, 0.3) == 3 / 5  # 3/10 counts as >= 0.3
    assert cover_at_tau(c, n, 1) == 1 / 5
    assert cover_at_tau(c, n, 0.9) == 2 / 5
    assert cover_at_tau(c, n, np.float64(0.2)) == 4 / 5


@pytest.mark.parametrize("tau", [0, -0.1, 1.01, float("inf"), "0.5", True])
def test_cover_at_tau_rejects_bad_tau(tau):
    with pytest.raises(ValueError, match="tau"):
        cover_at_tau([1], [2], tau)


def test_bad_counts_raise():
    with pytest.raises(ValueError, match="c must satisfy"):
        accuracy_histogram([3], [2])
    with pytest.raises(ValueError, match="n must be >= 1"):
        mean_accuracy([0], [0])
