"""People: the table of people, CSV import with a progress page and a report of rejected rows,
and a streamed CSV export.

Import and export use the functions behind ``citizenry db import`` and ``citizenry db export``,
so the files have the same columns. The pages are for the nation's admins only.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import BinaryIO

import anyio
import anyio.to_thread
from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from citizenry.api.people_csv import export_people
from citizenry.context import app_database, nation_route
from citizenry.panel.access import Member, load_member
from citizenry.panel.notices import notice_of
from citizenry.panel.pages import PanelError, path_for, render
from citizenry.panel.people_import_jobs import ImportBusy, ImportJob, import_jobs, run_import_job
from citizenry.panel.people_list import PeopleTable, load_people_table
from citizenry.panel.people_upload import MAX_UPLOAD_TEXT, UploadRejected, read_csv_upload
from citizenry.panel.session import signed_in
from citizenry.store.db import Database
from citizenry.store.models import Nation, Person

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

BASE = "/admin/people"
#: Seconds between reloads of a running import's page.
REFRESH_SECONDS = 2

NOTICES = {"deleted": "Person deleted, with their tags, list memberships, notes and contacts."}


def _admin(session: Session, request: Request) -> Member:
    return load_member(session, nation_route(request), signed_in(request), admin=True)


@router.get(BASE)
async def people_page(request: Request) -> Response:
    """Show the people table, searched, filtered and paged by the query string, and recent imports."""

    def load(session: Session) -> tuple[Member, int, PeopleTable]:
        member = _admin(session, request)
        count = session.scalar(
            select(func.count()).select_from(Person).where(Person.nation_id == member.nation.id)
        )
        return member, count or 0, load_people_table(session, request, member.nation.id)

    member, count, table = await app_database(request).run(load)
    jobs = import_jobs(request).of_nation(member.nation.id)
    return render(
        request,
        "people.html",
        status=400 if table.errors else 200,
        member=member,
        people_count=count,
        jobs=jobs,
        table=table,
        notice=notice_of(request, NOTICES),
    )


@router.get(f"{BASE}/import")
async def import_form(request: Request) -> Response:
    member = await app_database(request).run(_admin, request)
    return _form(request, member, running=import_jobs(request).running_for(member.nation.id))


def _form(
    request: Request, member: Member, *, status: int = 200, error: str = "", running: ImportJob | None = None
) -> Response:
    return render(
        request,
        "people_import.html",
        status=status,
        member=member,
        error=error,
        running=running,
        max_size=MAX_UPLOAD_TEXT,
    )


def _busy_form(request: Request, member: Member, busy: ImportBusy) -> Response:
    logger.info(
        "people import rejected on nation id=%s: %s",
        member.nation.id,
        "the nation has a running import"
        if busy.running
        else "the server runs its maximum number of imports",
    )
    if busy.running is not None:
        error = (
            "An import into this nation is already running. Wait until it finishes, then import "
            "the next file."
        )
        return _form(request, member, status=409, error=error, running=busy.running)
    response = _form(
        request,
        member,
        status=503,
        error="The server is running as many imports as it allows. Try again in a minute.",
    )
    response.headers["Retry-After"] = "60"
    return response


@router.post(f"{BASE}/import")
async def start_import(request: Request) -> Response:
    database = app_database(request)
    # Access comes first, so a visitor who may not import never gets to upload a file.
    member = await database.run(_admin, request)
    jobs = import_jobs(request)
    try:
        jobs.check_can_start(member.nation.id)
    except ImportBusy as busy:
        return _busy_form(request, member, busy)

    try:
        upload = await read_csv_upload(request, "file")
    except UploadRejected as rejected:
        logger.info("people import upload rejected on nation id=%s: %s", member.nation.id, rejected.message)
        return _form(request, member, status=rejected.status, error=rejected.message)

    try:
        job = jobs.start(
            nation_id=member.nation.id, user_id=member.user.id, filename=upload.filename, size=upload.size
        )
    except ImportBusy as busy:
        upload.file.close()
        return _busy_form(request, member, busy)
    return _RedirectThenImport(path_for(request, f"{BASE}/imports/{job.id}"), database, job, upload.file)


class _RedirectThenImport(RedirectResponse):
    """A 303 redirect to the import's page, after which the import runs to its end.

    Unlike a background task, the import also runs when sending the redirect fails, so the job
    always ends and the nation can import again.
    """

    def __init__(self, url: str, database: Database, job: ImportJob, file: BinaryIO) -> None:
        super().__init__(url, status_code=303)
        self._import = partial(run_import_job, database, job, file)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._import()


@router.get(f"{BASE}/imports/{{job_id}}")
async def import_status(request: Request, job_id: str) -> Response:
    member = await app_database(request).run(_admin, request)
    job = import_jobs(request).find(job_id, member.nation.id)
    if job is None:
        raise PanelError(
            status=404,
            title="Import not found",
            message="This server has no import at this address. Reports are kept for an hour after "
            "an import ends, and are lost when the server restarts. See People for recent imports.",
        )
    response = render(request, "people_import_job.html", member=member, job=job)
    if job.state == "running":
        # The Refresh header acts as <meta http-equiv="refresh"> does (HTML standard), without script.
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


@router.get(f"{BASE}/export")
async def export_csv(request: Request) -> Response:
    database = app_database(request)
    member = await database.run(_admin, request)
    filename = f"{member.nation.slug}-people-{datetime.now(UTC):%Y-%m-%d}.csv"
    return StreamingResponse(
        _export_chunks(database, member.nation.id, member.user.id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


class _BatchedExport:
    """A run of :func:`export_people`, one batch at a time, in one session held until :meth:`close`.

    Each method is called on a worker thread, one call at a time.
    """

    def __init__(self, database: Database, nation_id: int) -> None:
        self._session = database.sessions()
        self._buffer = io.StringIO(newline="")
        try:
            nation = self._session.get_one(Nation, nation_id)
        except BaseException:
            self._session.close()
            raise
        self._batches = export_people(self._session, nation, self._buffer)
        self.written = 0
        self.done = False

    def next_chunk(self) -> bytes:
        """Export the next batch of people and return its CSV text. ``done`` becomes true after the last."""
        try:
            self.written = next(self._batches)
        except StopIteration:
            self.done = True
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")

    def close(self) -> None:
        self._session.close()


async def _export_chunks(database: Database, nation_id: int, user_id: int) -> AsyncIterator[bytes]:
    export = await anyio.to_thread.run_sync(_BatchedExport, database, nation_id)
    try:
        while not export.done:
            chunk = await anyio.to_thread.run_sync(export.next_chunk)
            if chunk:
                yield chunk
    finally:
        # Also runs when the download is cancelled, so the session goes back to the pool.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(export.close)
        outcome = "exported" if export.done else "stopped the export after"
        logger.info("user id=%s %s %s people of nation id=%s", user_id, outcome, export.written, nation_id)
