"""coverage_sets: the partition of problems, the exact solved rule, and the evidence behind "only"."""

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from app.stats.coverage import _only_evidence, coverage_sets


def exact_pass_at_k(c: int, n: int, k: int) -> Fraction:
    """1 - C(n-c, k) / C(n, k) in exact rationals."""
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


@st.composite
def paired_runs(draw, max_n=40, max_size=15):
    """Aligned runs A and B on the same problems, with a k valid for every problem in both."""
    size = draw(st.integers(1, max_size))
    n_a = [draw(st.integers(1, max_n)) for _ in range(size)]
    n_b = [draw(st.integers(1, max_n)) for _ in range(size)]
    c_a = [draw(st.integers(0, n)) for n in n_a]
    c_b = [draw(st.integers(0, n)) for n in n_b]
    k = draw(st.integers(1, min(n_a + n_b)))
    return c_a, n_a, c_b, n_b, k


@settings(max_examples=150, deadline=None)
@given(paired_runs(), st.sampled_from([0.5, 0.1, 0.3, 1.0, 0.95, Fraction(1, 3)]))
def test_sets_partition_problems_by_the_exact_solved_rule(runs, threshold):
    c_a, n_a, c_b, n_b, k = runs
    sets = coverage_sets(c_a, n_a, c_b, n_b, k, threshold=threshold)
    groups = [sets.both, sets.only_a, sets.only_b, sets.neither]
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(c_a)))
    for group in groups:
        assert np.all(np.diff(group) > 0)
    t = threshold if isinstance(threshold, Fraction) else Fraction(str(threshold))
    by_status = {(True, True): sets.both, (True, False): sets.only_a, (False, True): sets.only_b}
    for i in range(len(c_a)):
        solved_a = exact_pass_at_k(c_a[i], n_a[i], k) >= t
        solved_b = exact_pass_at_k(c_b[i], n_b[i], k) >= t
        assert i in by_status.get((solved_a, solved_b), sets.neither)
    assert len(sets.evidence_a.p_value) == len(sets.only_a)
    assert len(sets.evidence_b.q_value) == len(sets.only_b)


def test_at_k_equal_n_solved_means_at_least_one_correct_sample():
    c_a, c_b, n = [0, 1, 0, 7, 3], [0, 0, 2, 8, 1], [8] * 5
    sets = coverage_sets(c_a, n, c_b, n, 8)
    assert sets.both.tolist() == [3, 4]
    assert sets.only_a.tolist() == [1]
    assert sets.only_b.tolist() == [2]
    assert sets.neither.tolist() == [0]
    # Any threshold in (0, 1] gives the same sets at k = n.
    tiny = coverage_sets(c_a, n, c_b, n, 8, threshold=1e-9)
    full = coverage_sets(c_a, n, c_b, n, 8, threshold=1.0)
    for other in (tiny, full):
        assert other.only_a.tolist() == [1] and other.both.tolist() == [3, 4]


def test_exact_ties_at_the_threshold_count_as_solved():
    # pass@2 with c=1, n=4 is exactly 1/2; pass@1 with c=3, n=10 is exactly 0.3 (0.3 * 10 != 3 in floats).
    assert coverage_sets([1], [4], [0], [4], 2).only_a.tolist() == [0]
    assert coverage_sets([3], [10], [2], [10], 1, threshold=0.3).only_a.tolist() == [0]
    # pass@3 with c=1, n=9 is 1/3 exactly.
    assert coverage_sets([1], [9], [0], [9], 3, threshold=Fraction(1, 3)).only_a.tolist() == [0]
    assert (
        coverage_sets([1], [9], [0], [9], 3, threshold=Fraction(1, 3) + Fraction(1, 10**15)).neither.size == 1
    )


def test_ties_found_by_search_are_decided_exactly():
    # Every (c, n, k) whose pass@k is exactly 1/2 must be solved at threshold 0.5 and unsolved just above.
    ties = [
        (c, n, k)
        for n in range(1, 60)
        for c in range(n + 1)
        for k in range(1, n + 1)
        if exact_pass_at_k(c, n, k) == Fraction(1, 2)
    ]
    assert len(ties) > 10
    c, n, k = (np.array(v) for v in zip(*ties, strict=True))
    for kk in np.unique(k):
        rows = k == kk
        zero = np.zeros(rows.sum(), int)
        at = coverage_sets(c[rows], n[rows], zero, n[rows], int(kk), threshold=0.5)
        above = coverage_sets(c[rows], n[rows], zero, n[rows], int(kk), threshold=0.5 + 1e-15)
        assert at.only_a.size == rows.sum()
        assert above.neither.size == rows.sum()


def test_swapping_runs_swaps_the_only_sets_and_their_evidence():
    rng = np.random.default_rng(3)
    n_a, n_b = rng.integers(4, 30, 200), rng.integers(4, 30, 200)
    c_a, c_b = rng.binomial(n_a, rng.random(200)), rng.binomial(n_b, rng.random(200))
    ab = coverage_sets(c_a, n_a, c_b, n_b, 4)
    ba = coverage_sets(c_b, n_b, c_a, n_a, 4)
    assert ab.only_a.size and ab.only_b.size
    np.testing.assert_array_equal(ab.only_a, ba.only_b)
    np.testing.assert_array_equal(ab.both, ba.both)
    np.testing.assert_array_equal(ab.evidence_a.p_value, ba.evidence_b.p_value)
    np.testing.assert_array_equal(ab.evidence_b.p_binomial, ba.evidence_a.p_binomial)


def random_tables(seed, size=400):
    """Random 2x2 count tables including rows and columns of zeros."""
    rng = np.random.default_rng(seed)
    n_s, n_o = rng.integers(1, 200, size), rng.integers(1, 200, size)
    c_s = rng.binomial(n_s, rng.random(size))
    c_o = rng.binomial(n_o, rng.random(size))
    c_s[:20], c_o[:20] = 0, 0
    c_s[20:40], c_o[20:40] = n_s[20:40], n_o[20:40]
    c_o[40:60] = 0
    return c_s, n_s, c_o, n_o


def test_fisher_p_values_match_scipy_fisher_exact_greater():
    c_s, n_s, c_o, n_o = random_tables(4)
    evidence = _only_evidence(c_s, n_s, c_o, n_o)
    for i in range(c_s.size):
        table = [[c_s[i], n_s[i] - c_s[i]], [c_o[i], n_o[i] - c_o[i]]]
        expected = stats.fisher_exact(table, alternative="greater").pvalue
        assert abs(evidence.p_value[i] - expected) <= 1e-12, table


def test_q_values_match_a_straightforward_benjamini_hochberg():
    p = _only_evidence(*random_tables(5)).p_value
    m = p.size
    order = np.argsort(p)
    q_sorted = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        running = min(running, p[order[rank - 1]] * m / rank)
        q_sorted[rank - 1] = running
    expected = np.empty(m)
    expected[order] = q_sorted
    np.testing.assert_allclose(_only_evidence(*random_tables(5)).q_value, expected, rtol=1e-12, atol=0)


def test_binomial_evidence_is_the_chance_of_so_few_successes_at_the_solving_rate():
    c_s, n_s, c_o, n_o = random_tables(6)
    evidence = _only_evidence(c_s, n_s, c_o, n_o)
    np.testing.assert_allclose(evidence.p_binomial, stats.binom.cdf(c_o, n_o, c_s / n_s), rtol=1e-12, atol=0)
    zero = c_o == 0
    np.testing.assert_allclose(
        evidence.p_binomial[zero], (1 - c_s[zero] / n_s[zero]) ** n_o[zero], rtol=1e-10, atol=1e-300
    )


def test_hand_checked_evidence():
    # A: 3 of 10, B: 0 of 10 at k = 10. Fisher: C(10,3)/C(20,3) = 120/1140; binomial: 0.7 ** 10.
    sets = coverage_sets([3, 5], [10, 10], [0, 5], [10, 10], 10)
    assert sets.only_a.tolist() == [0]
    assert sets.evidence_a.p_value[0] == pytest.approx(120 / 1140, abs=1e-14)
    assert sets.evidence_a.q_value[0] == pytest.approx(120 / 1140, abs=1e-14)
    assert sets.evidence_a.p_binomial[0] == pytest.approx(0.7**10, abs=1e-14)
    assert sets.evidence_b.p_value.size == 0
    payload = sets.to_dict()
    json.dumps(payload, allow_nan=False)
    assert payload["only_a"] == [0] and payload["both"] == [1] and payload["threshold"] == 0.5


def test_evidence_is_aligned_with_the_only_set():
    rng = np.random.default_rng(7)
    n = np.full(300, 16)
    c_a, c_b = rng.binomial(16, rng.random(300) * 0.2), rng.binomial(16, rng.random(300) * 0.2)
    sets = coverage_sets(c_a, n, c_b, n, 16)
    expected = _only_evidence(c_a[sets.only_a], n[sets.only_a], c_b[sets.only_a], n[sets.only_a])
    np.testing.assert_array_equal(sets.evidence_a.p_value, expected.p_value)
    # At k = n, "only A" means B saw 0 of 16: the binomial evidence is (1 - c_a/16) ** 16.
    assert np.all(c_b[sets.only_a] == 0) and np.all(c_a[sets.only_a] > 0)
    np.testing.assert_allclose(sets.evidence_a.p_binomial, (1 - c_a[sets.only_a] / 16) ** 16, rtol=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([1, 2], [4, 4], [1, 2], [4, 3], 4), {}, "k=4 exceeds n_b for problem 1"),
        (([1, 2], [2, 4], [1, 2], [4, 4], 3), {}, "k=3 exceeds n_a for problem 0"),
        (([1, 2], [4, 4], [1, 2], [4, 4], 0), {}, "k must be a positive integer"),
        (([1, 2], [4, 4], [1, 2], [4, 4], 2.0), {}, "k must be a positive integer"),
        (([1, 2], [4, 4], [1, 2], [4, 4], 2), {"threshold": 0}, "threshold must satisfy"),
        (([1, 2], [4, 4], [1, 2], [4, 4], 2), {"threshold": 1.5}, "threshold must satisfy"),
        (([1, 2], [4, 4], [1, 2], [4, 4], 2), {"threshold": float("nan")}, "threshold must be finite"),
        (([1, 2], [4, 4], [1, 2], [4, 4], 2), {"threshold": "0.5"}, "threshold must be a number"),
        (([1, 2], [4, 4], [1], [4], 2), {}, "same problems"),
    ],
)
def test_bad_input_raises(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        coverage_sets(*args, **kwargs)
