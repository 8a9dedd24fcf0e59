"""REST under ``/api/v1``: collections, documents, ingest jobs, status.

Each route calls one ``Docent`` method as the token's user; uploads go through the same
methods as the Library page's (``Docent.save_uploads``, ``Docent.ingest_uploads``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from app.http import schemas
from app.http.bodies import TextRoute
from app.http.errors import COMMON, ApiError, documented
from app.http.jobs import Jobs
from app.http.security import Caller, Who
from app.http.streams import EventStream, event, sse, streamed
from app.uploads import Upload

if TYPE_CHECKING:
    from app.api import Docent
    from ingest.pipeline import Progress
    from ingest.report import IngestReport


_BINARY = {"schema": {"type": "string", "format": "binary"}}


def router(docent: Docent, jobs: Jobs) -> APIRouter:
    """The ``/api/v1`` routes over ``docent``."""
    api = APIRouter(prefix="/api/v1", responses=documented(*COMMON), route_class=TextRoute)

    @api.get("/status", summary="Index, collections the caller may read, embedder")
    def status(who: Who) -> dict[str, Any]:
        from dataclasses import asdict

        state = asdict(docent.status(user=who.user))
        if not who.user.is_admin:
            for path in ("index", "embedder_dir"):  # server paths are the administrator's
                state.pop(path, None)
        return state

    @api.get("/collections", summary="Collections the caller holds a grant in")
    def collections(who: Who) -> list[dict[str, Any]]:
        return [schemas.collection(i) for i in docent.collections(user=who.user)]

    @api.post(
        "/collections",
        status_code=201,
        summary="Create a collection (administrators)",
        responses=documented(409),
    )
    def create(given: schemas.CollectionIn, who: Who) -> dict[str, str]:
        docent.create_collection(given.name, user=who.user)
        return {"created": given.name}

    @api.delete(
        "/collections/{name}",
        summary="Delete a collection (administrators)",
        responses=documented(409),
    )
    def delete(name: schemas.CollectionName, who: Who) -> dict[str, str]:
        docent.delete_collection(name, user=who.user)
        return {"deleted": name}

    @api.get("/collections/{name}/documents", summary="Documents the caller may read")
    def documents(name: schemas.CollectionName, who: Who) -> list[dict[str, Any]]:
        return [schemas.document(r) for r in docent.documents(name, user=who.user)]

    @api.post(
        "/collections/{name}/documents",
        status_code=202,
        summary="Upload files (multipart `files`) and start an ingest job",
        responses=documented(409),
    )
    async def upload(
        name: schemas.CollectionName,
        who: Who,
        files: Annotated[list[UploadFile], File(json_schema_extra={"minItems": 1})],
    ) -> dict[str, Any]:
        received = [Upload(f.filename or "", await f.read()) for f in files]
        return await run_in_threadpool(_add_uploads, docent, jobs, who, name, received)

    @api.post(
        "/collections/{name}/sync",
        status_code=202,
        summary="Re-sync the shared folder (administrators)",
        responses=documented(409),
    )
    def sync(name: schemas.CollectionName, who: Who) -> dict[str, Any]:
        # Refused before a job exists: a job that can only fail is no answer to a reader.
        docent.check_sync(name, user=who.user)
        folder = docent.settings.sync_folder
        if folder is None:
            raise ApiError(
                409, "No shared folder is configured.", "set `sync_folder` in the settings"
            )

        def run(progress: Progress) -> IngestReport:
            return docent.ingest([folder], name, prune=True, progress=progress, user=who.user)

        return jobs.start(who.user, name, run).describe()

    @api.delete(
        "/collections/{name}/documents/{source:path}",
        summary="Remove a document",
        responses=documented(409),
    )
    def remove(name: schemas.CollectionName, source: str, who: Who) -> dict[str, Any]:
        removed = docent.remove_document(name, source, user=who.user)
        return {"removed": [schemas.document(r) for r in removed]}

    @api.get(
        "/collections/{name}/documents/{source:path}/original",
        summary="The file",
        response_class=FileResponse,
        responses={
            200: {
                "description": "The original file, in its own media type.",
                "content": {"application/octet-stream": _BINARY},
            }
        },
    )
    def original(name: schemas.CollectionName, source: str, who: Who) -> FileResponse:
        path = _original(docent, name, source, who)
        return FileResponse(path, filename=PurePosixPath(source).name)

    @api.get(
        "/collections/{name}/documents/{source:path}/pages/{page}",
        summary="One PDF page",
        response_class=Response,
        responses={
            200: {
                "description": "The page as a PDF of its own.",
                "content": {"application/pdf": _BINARY},
            }
        },
    )
    def page(name: schemas.CollectionName, source: str, page: int, who: Who) -> Response:
        from app.originals import pdf_page

        cut = pdf_page(_original(docent, name, source, who), page)
        if cut is None:
            raise ApiError(404, f"`{source}` has no page {page} to cut.", "check the page number")
        stem = PurePosixPath(source).stem
        disposition = f'attachment; filename="{stem}-p{page}.pdf"'
        headers = {"Content-Disposition": disposition}
        return Response(cut, media_type="application/pdf", headers=headers)

    _jobs_routes(api, jobs)
    return api


def _jobs_routes(api: APIRouter, jobs: Jobs) -> None:
    @api.get("/jobs", summary="The caller's ingest jobs")
    def listing(who: Who) -> list[dict[str, Any]]:
        rows = [j.describe() for j in jobs.mine(who.user)]
        return [{k: v for k, v in row.items() if k != "report"} for row in rows]

    @api.get("/jobs/{job_id}", summary="A job's state and, once done, its report")
    def job(job_id: str, who: Who) -> dict[str, Any]:
        return jobs.get(job_id, who.user).describe()

    @api.get(
        "/jobs/{job_id}/report",
        summary="The per-file report of a finished job",
        responses=documented(409),
    )
    def report(job_id: str, who: Who) -> JSONResponse:
        found = jobs.get(job_id, who.user)
        if found.report is None:
            raise ApiError(409, f"Job `{job_id}` has no report ({found.state}).", "wait for it")
        return JSONResponse(found.report)

    @api.get(
        "/jobs/{job_id}/events",
        summary="Progress as Server-Sent Events, to the end",
        response_class=EventStream,
        responses=documented(*COMMON, streaming=True)
        | {
            200: {
                "description": "Events `start`, `file`, `chunks`, then `done`, "
                "`failed` or `cancelled`.",
                "content": streamed("SSE events"),
            }
        },
    )
    def events(job_id: str, who: Who) -> Response:
        found = jobs.get(job_id, who.user)

        def stream() -> Iterator[bytes]:
            for name, data in found.follow():
                yield event(name, data)

        return sse(stream())

    @api.post("/jobs/{job_id}/cancel", status_code=202, summary="Cancel a running job")
    def cancel(job_id: str, who: Who) -> dict[str, Any]:
        found = jobs.get(job_id, who.user)
        found.cancel.set()
        return found.describe()


def _original(docent: Docent, name: str, source: str, who: Caller) -> Any:
    path = docent.document_file(name, source, user=who.user)
    if path is None:
        raise ApiError(
            404,
            f"The original of `{source}` is not available.",
            "it was moved, changed or removed since it was ingested, or is not yours to read",
        )
    return path


def _add_uploads(
    docent: Docent, jobs: Jobs, who: Caller, name: str, received: list[Upload]
) -> dict[str, Any]:
    placement = docent.save_uploads(name, received, user=who.user)
    if not placement.staged:
        from ingest.loaders import SUFFIXES

        # No job for nothing: the client learns at once why each file was refused.
        reasons = "; ".join(f"`{n}`: {r}" for n, r in placement.refused[:5])
        raise ApiError(
            400,
            f"None of the files can be added ({reasons}).",
            "send documents of these types: " + ", ".join(sorted(SUFFIXES)),
        )

    def run(progress: Progress) -> IngestReport:
        return docent.ingest_uploads(placement, name, progress=progress, user=who.user)

    job = jobs.start(who.user, name, run)
    refused = [{"name": n, "reason": r} for n, r in placement.refused]
    return job.describe() | {"refused": refused}
