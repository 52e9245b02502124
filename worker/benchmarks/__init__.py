"""Benchmarks by name: `load_benchmark("math500")` gives the problems of a pinned public problem set.

The registry (worker.benchmarks.registry) names each benchmark's source, pinned revision, split,
field mapping, default prompt template and default grader. `load_benchmark(name, path=...)` reads a
local JSONL copy instead (the Qwen2.5-Math harness files in ../shared/data/benchmarks work as they
are), and `fields=` maps the columns of a file of your own (worker.benchmarks.fields). Hugging Face
`datasets` is imported only when a benchmark is loaded from the hub. `arithmetic` is made by a seeded
generator (worker.benchmarks.arithmetic) and needs neither network nor files.
"""

from __future__ import annotations

from worker.benchmarks.loading import HubRequest, LoadedBenchmark, content_hash, hub_request, load_benchmark
from worker.benchmarks.registry import BENCHMARKS, BenchmarkSpec, get_benchmark, list_benchmarks

__all__ = [
    "BENCHMARKS",
    "BenchmarkSpec",
    "HubRequest",
    "LoadedBenchmark",
    "content_hash",
    "get_benchmark",
    "hub_request",
    "list_benchmarks",
    "load_benchmark",
]
