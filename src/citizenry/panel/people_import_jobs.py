"""People imports started from the control panel, run after the upload's response is sent.

Each import is a job kept in the server process's memory, so its page can show the progress and
then the report. The import itself is :func:`citizenry.api.people_csv.import_people`, in one
transaction: a failed job leaves no person behind.

NOTE: jobs live in one process. Behind a load balancer over several processes, a browser whose
next request reaches another process gets "Import not found", and the limits below apply per
process.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO, Literal

import anyio.to_thread
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.requests import Request

from citizenry.api.errors import ValidationFailed
from citizenry.api.people_csv import ImportReport, import_people
from citizenry.store.db import Database
from citizenry.store.models import Nation

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

logger = logging.getLogger(__name__)

#: Maximum number of imports running at once in one server process, over all nations.
MAX_RUNNING_IMPORTS = 2
#: Seconds a finished job's report stays available.
KEEP_FINISHED_SECONDS = 3600
#: Maximum number of finished jobs kept. The oldest are dropped first.
MAX_FINISHED_JOBS = 100

JobState = Literal["running", "finished", "failed"]


@dataclass
class ImportJob:
    """One upload being imported, or its outcome.

    The worker thread writes ``bytes_read`` and ``rows_checked``. Every other field changes only on
    the event loop.
    """

    id: str
    nation_id: int
    user_id: int
    filename: str
    size: int
    started_at: datetime
    state: JobState = "running"
    bytes_read: int = 0
    rows_checked: int = 0
    report: ImportReport | None = None
    #: Why a failed job failed and what to do next.
    failure: str = ""
    #: The problems found in the file, for a failed job.
    problems: list[str] = field(default_factory=list)
    finished_at: datetime | None = None
    #: ``time.monotonic()`` at the end, for dropping old jobs whatever the wall clock does.
    finished_clock: float | None = None

    @property
    def percent_read(self) -> int:
        if self.size <= 0:
            return 100
        return min(100, self.bytes_read * 100 // self.size)

    def finish(self, report: ImportReport) -> None:
        self.report = report
        self._end("finished")

    def fail(self, failure: str, problems: list[str] | None = None) -> None:
        self.failure = failure
        self.problems = problems or []
        self._end("failed")

    def _end(self, state: JobState) -> None:
        self.finished_at = datetime.now(UTC)
        self.finished_clock = time.monotonic()
        self.state = state


class ImportBusy(Exception):
    """No import can start now. ``running`` is the nation's running import, or None for the process limit."""

    def __init__(self, running: ImportJob | None) -> None:
        super().__init__("no people import can start now")
        self.running = running


class ImportJobs:
    """The jobs of one server process. Used from the event loop only, so it needs no lock."""

    def __init__(self) -> None:
        self._jobs: dict[str, ImportJob] = {}

    def running_for(self, nation_id: int) -> ImportJob | None:
        return next(
            (job for job in self._jobs.values() if job.nation_id == nation_id and job.state == "running"),
            None,
        )

    def check_can_start(self, nation_id: int) -> None:
        """Raise :class:`ImportBusy` when the nation has a running import, or the process is at its limit."""
        running = self.running_for(nation_id)
        if running is not None:
            raise ImportBusy(running)
        if sum(job.state == "running" for job in self._jobs.values()) >= MAX_RUNNING_IMPORTS:
            raise ImportBusy(None)

    def start(self, *, nation_id: int, user_id: int, filename: str, size: int) -> ImportJob:
        self.check_can_start(nation_id)
        self._prune()
        job = ImportJob(
            id=secrets.token_urlsafe(16),
            nation_id=nation_id,
            user_id=user_id,
            filename=filename,
            size=size,
            started_at=datetime.now(UTC),
        )
        self._jobs[job.id] = job
        return job

    def find(self, job_id: str, nation_id: int) -> ImportJob | None:
        self._prune()
        job = self._jobs.get(job_id)
        return job if job is not None and job.nation_id == nation_id else None

    def of_nation(self, nation_id: int) -> list[ImportJob]:
        """Return the nation's jobs, newest first."""
        self._prune()
        jobs = [job for job in self._jobs.values() if job.nation_id == nation_id]
        return sorted(jobs, key=lambda job: job.started_at, reverse=True)

    def _prune(self) -> None:
        cutoff = time.monotonic() - KEEP_FINISHED_SECONDS
        finished = sorted(
            (job for job in self._jobs.values() if job.finished_clock is not None),
            key=lambda job: job.finished_clock or 0.0,
        )
        excess = len(finished) - MAX_FINISHED_JOBS
        for index, job in enumerate(finished):
            if index < excess or (job.finished_clock or 0.0) < cutoff:
                del self._jobs[job.id]


def import_jobs(request: Request) -> ImportJobs:
    """Return the app's import jobs, creating the registry on first use."""
    state = request.app.state
    jobs = getattr(state, "people_import_jobs", None)
    if not isinstance(jobs, ImportJobs):
        jobs = ImportJobs()
        state.people_import_jobs = jobs
    return jobs


class _CountingReader(io.RawIOBase):
    """A read-only view of a binary file that adds the bytes read to the job's progress."""

    def __init__(self, file: BinaryIO, job: ImportJob) -> None:
        super().__init__()
        self._file = file
        self._job = job

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        target = memoryview(buffer).cast("B")
        data = self._file.read(len(target))
        target[: len(data)] = data
        self._job.bytes_read += len(data)
        return len(data)


def _import_file(database: Database, job: ImportJob, file: BinaryIO) -> ImportReport:
    lines = io.TextIOWrapper(io.BufferedReader(_CountingReader(file, job)), encoding="utf-8-sig", newline="")

    def record_rows(done: int) -> None:
        job.rows_checked = done

    def run(session: Session) -> ImportReport:
        nation = session.get_one(Nation, job.nation_id)
        return import_people(session, nation, lines, on_progress=record_rows)

    try:
        return database.transaction(run)
    finally:
        lines.close()


async def run_import_job(database: Database, job: ImportJob, file: BinaryIO) -> None:
    """Import ``file`` for ``job`` on a worker thread, record the outcome, and close the file."""
    logger.info(
        "people import %s started on nation id=%s by user id=%s: %s bytes",
        job.id,
        job.nation_id,
        job.user_id,
        job.size,
    )
    try:
        report = await anyio.to_thread.run_sync(_import_file, database, job, file)
    except anyio.get_cancelled_exc_class():
        job.fail("The import was stopped because the server is shutting down, so nothing was imported.")
        raise
    except ValidationFailed as error:
        job.fail(
            "The file's header row is invalid, so nothing was imported. Fix the problems below, "
            "then import the file again.",
            [str(problem) for problem in error.extra.get("validation_errors", [])],
        )
    except UnicodeDecodeError:
        job.fail(
            "The file is not UTF-8 text, so nothing was imported. "
            'Save the file as "CSV UTF-8" in your spreadsheet program, then import it again.'
        )
    except csv.Error as error:
        job.fail(
            f"The file is not valid CSV ({error}), so nothing was imported. "
            "Check the file in a spreadsheet program, save it as CSV again, then import it again."
        )
    except OperationalError as error:
        logger.error("people import %s failed: database unavailable: %s", job.id, type(error.orig).__name__)
        job.fail("The database was unavailable or busy, so nothing was imported. Import the file again.")
    except SQLAlchemyError:
        logger.exception("people import %s failed in the database", job.id)
        job.fail(
            "The database rejected the import, so nothing was imported. Ask the server's administrator "
            f"to look for import {job.id} in the server log."
        )
    except Exception:  # a background job has no caller to raise to, so its page shows the failure
        logger.exception("people import %s failed", job.id)
        job.fail(
            "The import failed because of an error in the server, so nothing was imported. Import the "
            f"file again. If it fails again, ask the server's administrator to look for import {job.id} "
            "in the server log."
        )
    else:
        job.finish(report)
        logger.info("people import %s finished", job.id)
    finally:
        file.close()
    if job.state == "failed":
        logger.info("people import %s failed: %s %s", job.id, job.failure, job.problems)
