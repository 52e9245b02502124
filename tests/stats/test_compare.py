"""difference_band against passk_inference.compare, the package whose method it implements."""

import dataclasses
import json

import numpy as np
import passk_inference
import pytest

from app.stats.compare import DifferenceBand, difference_band


def random_pair(seed, problems=200, n_range=(8, 33)):
    """Two runs on the same problems with unequal n, B somewhat better than A."""
    rng = np.random.default_rng(seed)
    n_a = rng.integers(*n_range, problems)
    n_b = rng.integers(*n_range, problems)
    rate = rng.beta(0.5, 0.9, problems)
    c_a = rng.binomial(n_a, rate)
    c_b = rng.binomial(n_b, np.clip(rate * 1.2, 0, 1))
    return c_a, n_a, c_b, n_b


def tied_pair(seed, problems=150):
    """Mostly identical runs, every problem solved at least once: pass@n = 1 in both (a zero-variance k)."""
    rng = np.random.default_rng(seed)
    n = np.full(problems, 6)
    c_a = rng.integers(1, 7, problems)
    c_b = c_a.copy()
    change = rng.random(problems) < 0.3
    c_b[change] = rng.integers(1, 7, change.sum())
    return c_a, n, c_b, n


def crossing_pair(seed, problems=600):
    """B (like RL) better on problems both solve, but never solves a fifth of them: gain early, loss late."""
    rng = np.random.default_rng(seed)
    n = np.full(problems, 64)
    hard = rng.random(problems) < 0.2
    rate_a = np.where(hard, rng.uniform(0.02, 0.1, problems), rng.uniform(0.05, 0.5, problems))
    rate_b = np.where(hard, 0.0, np.clip(rate_a * 2.5, 0, 1))
    return rng.binomial(n, rate_a), n, rng.binomial(n, rate_b), n


def degenerate_pair(seed, problems=40):
    """A never solves anything, B solves everything: the difference is 1 at every k with zero variance."""
    n = np.full(problems, 5)
    return np.zeros(problems, int), n, n.copy(), n


CASES = [
    *(("random", seed) for seed in (0, 1, 2)),
    *(("tied", seed) for seed in (3, 4)),
    ("crossing", 5),
    ("degenerate", 6),
]
MAKERS = {"random": random_pair, "tied": tied_pair, "crossing": crossing_pair, "degenerate": degenerate_pair}


def assert_matches_package(ours: DifferenceBand, theirs: dict):
    np.testing.assert_array_equal(ours.ks, theirs["ks"])
    np.testing.assert_allclose(ours.mean, theirs["mean"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.lower, theirs["lower"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.upper, theirs["upper"], rtol=0, atol=1e-12)
    assert ours.critical_value == pytest.approx(theirs["critical_value"], abs=1e-9)
    assert ours.b_better == theirs["certified_positive_budgets"]
    assert ours.b_worse == theirs["certified_negative_budgets"]
    assert ours.undetermined == theirs["inconclusive_budgets"]
    assert ours.first_loss_interval == theirs["first_loss_interval"]
    assert ours.certified_crossing == theirs["certified_crossing"]
    assert ours.degenerate == [theirs["ks"][i] for i in theirs["degenerate_columns"]]


@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_agrees_with_passk_inference_compare(kind, seed):
    c_a, n_a, c_b, n_b = MAKERS[kind](seed)
    for band_seed in (0, 11):
        ours = difference_band(c_a, n_a, c_b, n_b, bootstrap=600, alpha=0.05, seed=band_seed)
        theirs = passk_inference.compare(c_a, n_a, c_b, n_b, bootstrap=600, alpha=0.05, seed=band_seed)
        assert_matches_package(ours, theirs)


def test_agrees_on_a_sparse_grid_where_first_loss_is_not_defined():
    c_a, n_a, c_b, n_b = crossing_pair(7)
    ks = [1, 2, 8, 32, 64]
    ours = difference_band(c_a, n_a, c_b, n_b, ks=ks, bootstrap=500, alpha=0.1, seed=3)
    theirs = passk_inference.compare(c_a, n_a, c_b, n_b, ks=ks, bootstrap=500, alpha=0.1, seed=3)
    assert_matches_package(ours, theirs)
    assert ours.first_loss_interval is None


def test_test_cases_exercise_every_outcome():
    # Guards the agreement tests against becoming vacuous if the generators drift.
    crossing = difference_band(*crossing_pair(5), bootstrap=600)
    assert crossing.b_better and crossing.b_worse and crossing.certified_crossing
    lo, hi = crossing.first_loss_interval
    assert max(crossing.b_better) < lo <= hi == min(crossing.b_worse)
    tied = difference_band(*tied_pair(3), bootstrap=600)
    assert tied.degenerate == [6] and tied.undetermined
    assert tied.lower[-1] == -1.0 and tied.upper[-1] == 1.0
    degenerate = difference_band(*degenerate_pair(6), bootstrap=100)
    assert degenerate.degenerate == list(range(1, 6)) and degenerate.b_better == []
    np.testing.assert_array_equal(degenerate.mean, np.ones(5))


def test_budget_sets_partition_ks_by_the_band():
    band = difference_band(*random_pair(8), bootstrap=400)
    assert sorted(band.b_better + band.b_worse + band.undetermined) == list(band.ks)
    for k, lo, hi in zip(band.ks, band.lower, band.upper, strict=True):
        expected = "better" if lo > 0 else "worse" if hi < 0 else "undetermined"
        group = "better" if k in band.b_better else "worse" if k in band.b_worse else "undetermined"
        assert group == expected
    assert band.alpha == 0.05 and band.bootstrap == 400 and band.seed == 0


def test_default_ks_are_one_to_min_n_of_both_runs():
    c_a, n_a, c_b, n_b = random_pair(9, problems=30)
    n_b[4] = 5
    band = difference_band(c_a, n_a, np.minimum(c_b, n_b), n_b, bootstrap=50)
    np.testing.assert_array_equal(band.ks, np.arange(1, 6))


def test_to_dict_is_json_ready():
    band = difference_band(*crossing_pair(5), bootstrap=200)
    payload = band.to_dict()
    text = json.dumps(payload, allow_nan=False)
    assert json.loads(text)["b_worse"] == band.b_worse
    assert all(isinstance(v, float) for v in payload["lower"])
    assert payload["first_loss_interval"] == band.first_loss_interval


def test_band_is_frozen():
    band = difference_band([1, 2], [4, 4], [2, 2], [4, 4], bootstrap=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        band.alpha = 0.1
    with pytest.raises(ValueError):
        band.lower[0] = 0.0


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([1], [4], [2], [4]), {}, "at least 2 problems"),
        (([1, 2], [4, 4], [2], [4]), {}, "same problems"),
        (([1, 2], [4, 4], [2, 2], [4, 3]), {"ks": [1, 4]}, "must not exceed the smallest n"),
        (([1, 2], [4, 4], [2, 2], [4, 4]), {"ks": [0, 1]}, "ks must be positive"),
        (([1, 2], [4, 4], [2, 2], [4, 4]), {"bootstrap": 1}, "bootstrap must be"),
        (([1, 2], [4, 4], [2, 2], [4, 4]), {"alpha": 0.0}, "alpha must be"),
        (([1, 2], [4, 4], [2, 2], [4, 4]), {"seed": -2}, "seed must be"),
        (([1, 5], [4, 4], [2, 2], [4, 4]), {}, "c_a must satisfy"),
        (([1, 2], [4, 0], [2, 2], [4, 4]), {}, "n_a must be >= 1"),
    ],
)
def test_bad_input_raises(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        difference_band(*args, **kwargs)
