"""Test helpers: run the real `coverscope` CLI in a subprocess, snapshot every table, write count files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, inspect, select, table, text

CLI = [sys.executable, "-c", "from app.cli import main; main()"]


def run_cli(*args: str, database_url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `coverscope ARGS` as a user would, against `database_url`."""
    env = {**os.environ, "COVERSCOPE_DATABASE_URL": database_url, "COLUMNS": "200"}
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"coverscope {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table (alembic_version included), in a stable order."""
    names = inspect(engine).get_table_names()
    out = {}
    with engine.connect() as conn:
        for name in sorted(names):
            columns = [c["name"] for c in inspect(engine).get_columns(name)]
            rows = conn.execute(select(text("*")).select_from(table(name))).all()
            out[name] = sorted(tuple(str(v) for v in row) for row in rows)
            assert columns  # every table has columns; keeps the snapshot honest
    return out


def write_counts(path: Path, keys: list[str], c: np.ndarray, n: np.ndarray) -> Path:
    """A passk-inference counts file."""
    with path.open("w") as handle:
        for key, ci, ni in zip(keys, c, n, strict=True):
            handle.write(json.dumps({"id": key, "c": int(ci), "n": int(ni)}) + "\n")
    return path


def base_and_rl_counts(problems: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Correct counts for a base-like run (broad, many low rates) and an RL-like run (sharper)."""
    rng = np.random.default_rng(seed)
    difficulty = rng.beta(0.6, 0.8, size=problems)
    p_base = difficulty
    p_rl = np.where(rng.random(problems) < 0.93, np.clip(difficulty * 1.6, 0, 1) ** 0.7, 0.0)
    p_base = np.where(rng.random(problems) < 0.05, 0.0, p_base)
    return rng.binomial(n, p_base), rng.binomial(n, p_rl)


# `--field` options mapping the columns `write_arithmetic_benchmark` writes.
ARITHMETIC_FIELDS = ("--field", "key=unique_id", "--field", "statement=problem", "--field", "answer=answer")


def write_arithmetic_benchmark(path: Path, count: int, *, factor: int, prefix: str) -> Path:
    """A JSONL of `count` problems "What is i * factor?" with keys prefix+i (load with ARITHMETIC_FIELDS)."""
    rows = (
        {"problem": f"What is {i} * {factor}?", "answer": str(i * factor), "unique_id": f"{prefix}{i}"}
        for i in range(count)
    )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
