"""The demo bundle shipped in the package (app/demo/data): load it into a store, and summarize demo runs."""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import AppError
from app.services.importing import ImportResult, import_file

BUNDLE_DIR = Path(__file__).resolve().parent / "data"
PROVENANCE = "PROVENANCE.json"


@dataclass(frozen=True)
class LoadedFile:
    """One bundled file and what importing it did."""

    file: str
    model: str
    result: ImportResult


def read_provenance(bundle_dir: Path = BUNDLE_DIR) -> dict[str, Any]:
    """The bundle's PROVENANCE.json (which files, made how)."""
    path = bundle_dir / PROVENANCE
    if not path.is_file():
        raise AppError(
            f"no demo bundle at {bundle_dir} (missing {PROVENANCE}); run `coverscope demo --regenerate`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def load_bundle(
    *, session_factory: sessionmaker[Session], bundle_dir: Path = BUNDLE_DIR, chunk_size: int = 5000
) -> list[LoadedFile]:
    """Import every bundled run (base first) into the store; a file already imported is found, not repeated.

    The files are gzip-compressed samples JSONL; each is decompressed to a temporary file and imported
    with `import_file`, which recognises an earlier import of the same bytes.
    """
    provenance = read_provenance(bundle_dir)
    loaded = []
    scratch = Path(tempfile.mkdtemp(prefix="coverscope-demo-"))
    try:
        for entry in provenance["files"]:
            packed = bundle_dir / entry["file"]
            plain = scratch / entry["file"].removesuffix(".gz")
            with gzip.open(packed, "rb") as source, plain.open("wb") as target:
                shutil.copyfileobj(source, target)
            result = import_file(
                session_factory=session_factory,
                format_name=entry.get("format", "samples"),
                path=plain,
                chunk_size=chunk_size,
            )
            loaded.append(LoadedFile(file=entry["file"], model=entry["model"], result=result))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return loaded


def summarize(*, session: Session, run_ids: list[int]) -> dict[str, Any]:
    """pass@k of each run at every k, the k where the first run overtakes the others, and coverage at n.

    Computed from the store (so from whatever samples the runs hold), never from a bundled file.
    """
    from app.services.analysis import compare, curves

    result = curves(session=session, run_ids=run_ids)
    runs = [
        {
            "run_id": r["run_id"],
            "model": r["model"],
            "kind": r["kind"],
            "problems": r["problems"],
            "ks": r["ks"],
            "pass_at_k": r["pass_at_k"],
        }
        for r in result["runs"]
    ]
    summary: dict[str, Any] = {"runs": runs, "crossing_k": None, "coverage": None}
    if len(runs) >= 2:
        base, other = runs[0], runs[1]
        ks = [k for k in base["ks"] if k in other["ks"]]
        pa = dict(zip(base["ks"], base["pass_at_k"], strict=True))
        pb = dict(zip(other["ks"], other["pass_at_k"], strict=True))
        # The smallest k from which the base run is ahead at every larger k, after the other led at k=1.
        if pb[1] is not None and pa[1] is not None and pb[1] > pa[1]:
            ahead = [k for k in ks if pa[k] is not None and pb[k] is not None and pa[k] > pb[k]]
            if ahead and ks[-1] in ahead:
                first = ks[-1]
                for k in reversed(ks):
                    if k not in ahead:
                        break
                    first = k
                summary["crossing_k"] = first
        k = ks[-1]
        cov = compare(session=session, a=base["run_id"], b=other["run_id"], k=k, bootstrap=2)
        summary["coverage"] = {
            "k": k,
            **{key: len(cov[key]) for key in ("both", "only_a", "only_b", "neither")},
        }
    return summary
