"""Import and export from the browser: a run's export document as a download, and uploads of an evolab
export or an original-app dump, checked and written exactly as `evolab import` does."""

from __future__ import annotations

import json
import re
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from evolab.server.deps import RunId, StoreDep, WorkerDep, require_run
from evolab.server.schemas import ErrorDoc, ImportDoc, ImportedRunDoc
from evolab.server.worker import Worker
from evolab.storage import RunInfo

router = APIRouter(prefix="/api", tags=["transfer"])

MAX_UPLOAD_BYTES = 512 * 1024**2
"""Largest upload taken (as sent, gzip'd or not): some 500 generations of 100 creatures of the original
app; beyond it the answer is a 413, before the rest is read. Read per request, so tests can lower it."""
_JSON_SEPARATORS = (",", ":")  # `evolab export`'s: the download is the bytes the CLI writes
_FLUSH_BYTES = 1 << 18
"""Encoded text gathered before a chunk is sent: large enough that gzip and the socket see few calls."""


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorDoc, "description": description}


# -- export -------------------------------------------------------------------------------------------


@router.get(
    "/runs/{run_id}/export",
    response_class=StreamingResponse,
    summary="The run as one evolab export document (a download, gzip'd in transit when accepted)",
    responses={
        200: {
            "description": "The run's export document (format `evolab-run`), as `evolab export` writes it; "
            "`Content-Disposition: attachment` names the file `<run id>.json`.",
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
        },
        404: _error("No run has this id."),
        503: _error("The database cannot be read right now."),
    },
)
def export_run_file(run_id: RunId, store: StoreDep, request: Request) -> StreamingResponse:
    """Everything stored for the run, as the one versioned JSON document `evolab export` writes and
    `POST /api/import` or `evolab import` reads back."""
    from evolab.storage.transfer import export_run

    info = require_run(store, run_id)
    # built once; its text is encoded and sent a piece at a time, so the server never holds the whole
    # text (or its gzip) beside it
    document = export_run(store, info.id)
    compress = accepts_gzip(request.headers.get("accept-encoding", ""))
    headers = {
        "Content-Disposition": f'attachment; filename="{export_filename(info.id)}"',
        "Vary": "Accept-Encoding",
        **({"Content-Encoding": "gzip"} if compress else {}),
    }
    return StreamingResponse(_encoded(document, compress), media_type="application/json", headers=headers)


def export_filename(run_id: str) -> str:
    """The download's file name: the run id, kept to characters every file system and header takes."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", run_id)[:200] + ".json"


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (named, with a weight above 0)."""
    for offer in accept_encoding.split(","):
        name, *params = (part.strip() for part in offer.split(";"))
        if name.lower() != "gzip":
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def document_text(document: dict[str, Any]) -> Iterator[str]:
    """`json.dumps(document, separators=(",", ":"))` and a newline, a list item at a time: the same text,
    without ever holding all of it (an export's generations, creatures and frames are long lists)."""
    yield "{"
    for i, (key, value) in enumerate(document.items()):
        yield f"{',' if i else ''}{json.dumps(key)}:"
        if isinstance(value, list):
            yield "["
            for j, item in enumerate(value):
                yield f"{',' if j else ''}{json.dumps(item, separators=_JSON_SEPARATORS)}"
            yield "]"
        else:
            yield json.dumps(value, separators=_JSON_SEPARATORS)
    yield "}\n"


def _encoded(document: dict[str, Any], compress: bool) -> Iterator[bytes]:
    # wbits 16 + 15: the gzip container (header and CRC), what Content-Encoding: gzip means
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if compress else None
    pending: list[str] = []
    size = 0
    for piece in document_text(document):
        pending.append(piece)
        size += len(piece)
        if size >= _FLUSH_BYTES:
            data = "".join(pending).encode()
            pending, size = [], 0
            if packer is None:
                yield data
            elif packed := packer.compress(data):
                yield packed
    data = "".join(pending).encode()
    yield data if packer is None else packer.compress(data) + packer.flush()


# -- import -------------------------------------------------------------------------------------------

_UPLOAD_BODY = {
    "required": True,
    "description": "The file as it is (not a form): an `evolab export` document or the original app's "
    "IndexedDB dump, plain JSON or gzip'd; which of them is detected from the content, as `evolab import` does.",
    "content": {
        "application/json": {"schema": {"type": "object", "additionalProperties": True}},
        "application/gzip": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}


@router.post(
    "/import",
    response_model=ImportDoc,
    status_code=201,
    summary="Import an evolab export or an original-app dump (checked completely, then one transaction)",
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        201: {"description": "Every run of the file was imported."},
        400: _error("The upload was cut off before its end (nothing was written)."),
        409: _error("The file's runs were imported into this database before (nothing was written)."),
        413: _error("The upload is larger than the server takes (nothing was written)."),
        422: _error("The file is damaged or not an import file: the record and field at fault (nothing was written)."),
        503: _error("The database cannot be written right now (nothing was written)."),
    },
)
async def import_file(request: Request, worker: WorkerDep) -> ImportDoc:
    """The body is the file itself, up to 512 MB. It is checked completely, exactly as `evolab import`
    checks it, before anything is written; then all of its runs are written in one transaction."""
    # To a temporary file as it arrives, then read and validated off the event loop by the CLI's own
    # code; only the writer thread writes.
    limit = MAX_UPLOAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:  # refused before a byte of it is read
        raise _too_large(limit)
    with tempfile.TemporaryDirectory(prefix="evolab-import-") as folder:
        path = Path(folder) / "upload"
        await _receive(request, path, limit)
        return await run_in_threadpool(import_upload, path, worker)


def _too_large(limit: int) -> HTTPException:
    size = f"{limit / 1024**2:g} MB" if limit >= 1024**2 else f"{limit} bytes"
    return HTTPException(413, f"the file is larger than the {size} an upload may be; nothing was written")


async def _receive(request: Request, path: Path, limit: int) -> None:
    size = 0
    try:
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:  # a chunked upload, or one whose Content-Length lied
                    raise _too_large(limit)
                out.write(chunk)
    except ClientDisconnect:
        raise HTTPException(400, "the upload was cut off; nothing was written") from None


def import_upload(path: Path, worker: Worker) -> ImportDoc:
    """Import the file at `path` as `evolab import` would (detecting what it is), writing through `worker`.

    Raises:
        DumpError, TransferError: the file is refused (422); nothing was written.
        AlreadyImported: its runs are here already (409); nothing was written.
        StorageError: the database cannot be written; nothing was written.
    """
    from evolab.storage.original import import_dump, is_original_dump, parse_dump, plan_import, read_document
    from evolab.storage.transfer import import_run, parse_document

    data = read_document(path)
    if is_original_dump(data):
        plan = plan_import(parse_dump(data))
        del data  # the plan holds everything now; the parsed JSON is the larger of the two
        runs = worker.call("import", None, lambda store: import_dump(store, plan))
        warnings = []
        if plan.unmapped:
            warnings.append(
                "original settings with no evolab counterpart, kept with each run and not applied: "
                + ", ".join(plan.unmapped)
            )
        if plan.flagged:
            warnings.append(
                f"{plan.flagged} of its {plan.genomes} genomes are outside evolab's ranges, kept as they were "
                "(replayed from their frames, never simulated or bred)"
            )
        if plan.replays_not_kept:
            warnings.append(
                f"{plan.replays_not_kept} exploded creatures' frames reach beyond a replay's 1000 km and are not "
                "kept (their results and genomes are)"
            )
        return ImportDoc(
            source="original-app",
            runs=[_run_doc(run, run.origin.source_id if run.origin else None) for run in runs],
            generations=plan.generations,
            results=plan.creatures,
            genomes=plan.genomes,
            flagged_genomes=plan.flagged,
            replays=plan.replays,
            replays_not_kept=plan.replays_not_kept,
            unmapped_settings=list(plan.unmapped),
            warnings=warnings,
        )
    document = parse_document(data)
    del data
    run = worker.call("import", None, lambda store: import_run(store, document))
    flagged = sum(1 for c in document.creatures if c.genome.out_of_range is not None)
    return ImportDoc(
        source="evolab",
        runs=[_run_doc(run, document.run.id)],
        generations=len(document.generations),
        results=sum(len(g.results) for g in document.generations),
        genomes=len(document.creatures),
        flagged_genomes=flagged,
        replays=len(document.replays),
        replays_not_kept=0,
        unmapped_settings=[],
        warnings=[f"{flagged} genomes are outside evolab's ranges, kept as they were (never simulated or bred)"]
        if flagged
        else [],
    )


def _run_doc(run: RunInfo, original_id: str | None) -> ImportedRunDoc:
    return ImportedRunDoc(
        id=run.id,
        name=run.name,
        original_id=original_id,
        generation_count=run.generation_count,
        parent_run_id=run.parent_run_id,
        fork_generation=run.fork_generation,
    )
