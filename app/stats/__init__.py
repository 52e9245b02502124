"""Pure statistics for coverscope (numpy/scipy only): pass@k, intervals, comparisons, coverage."""

from app.stats.compare import DifferenceBand, difference_band
from app.stats.coverage import CoverageEvidence, CoverageSets, coverage_sets
from app.stats.distribution import ACCURACY_BINS, accuracy_histogram, cover_at_tau, mean_accuracy
from app.stats.intervals import CurveEstimate, curve_interval, paired_difference_interval
from app.stats.passk import pass_at_k, pass_at_k_curve

__all__ = [
    "ACCURACY_BINS",
    "CoverageEvidence",
    "CoverageSets",
    "CurveEstimate",
    "DifferenceBand",
    "accuracy_histogram",
    "cover_at_tau",
    "coverage_sets",
    "curve_interval",
    "difference_band",
    "mean_accuracy",
    "paired_difference_interval",
    "pass_at_k",
    "pass_at_k_curve",
]
