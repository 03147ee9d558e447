"""Reading a CSV file uploaded through a multipart form.

The body is counted while it arrives, so an upload over the limit is rejected before it is
stored whole. Starlette's parser keeps the file in a temporary file that moves from memory
to disk past 1 MiB.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import BinaryIO

import anyio.to_thread
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from citizenry.panel.pages import PanelError
from citizenry.panel.session import CSRF_FIELD, is_valid_csrf

logger = logging.getLogger(__name__)

#: Maximum size of an uploaded CSV file, in bytes.
MAX_UPLOAD_BYTES = 50_000_000
#: Bytes allowed in a request body besides the file: boundaries, part headers and the CSRF field.
FORM_OVERHEAD_BYTES = 64 * 1024
#: The size limit as the pages and messages state it.
MAX_UPLOAD_TEXT = "50 MB"

TOO_LARGE = (
    f"The file is larger than {MAX_UPLOAD_TEXT}, the most one import takes. "
    "Split it into several files, each with the header row, and import them one after the other."
)


class UploadRejected(Exception):
    """An upload that cannot be imported. ``message`` states the reason and what to do next."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class CsvUpload:
    """An uploaded file that passed the checks, positioned at its start. The caller closes ``file``."""

    filename: str
    size: int
    file: BinaryIO


async def read_csv_upload(request: Request, field: str) -> CsvUpload:
    """Read the multipart form, check its CSRF token, and check the file in ``field``.

    A failed CSRF check is a 403 :class:`PanelError`, as for every other form. Every problem with
    the upload itself raises :class:`UploadRejected`.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise UploadRejected(400, "The form did not include a file. Choose a CSV file, then press Import.")
    body_limit = MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise UploadRejected(413, TOO_LARGE)

    parser = MultiPartParser(request.headers, _limited(request, body_limit), max_files=1, max_fields=5)
    try:
        form = await parser.parse()
    except _BodyTooLarge:
        raise UploadRejected(413, TOO_LARGE) from None
    except MultiPartException as error:
        logger.info("unreadable multipart upload on %s: %s", request.url.path, error.message)
        raise UploadRejected(
            400, "The upload could not be read. Reload the page, choose the file again and press Import."
        ) from None
    except ClientDisconnect:
        raise UploadRejected(
            400, "The upload was interrupted. Choose the file again and press Import."
        ) from None

    try:
        return await _checked_upload(request, form, field)
    except BaseException:
        await form.close()
        raise


async def _checked_upload(request: Request, form: FormData, field: str) -> CsvUpload:
    if not is_valid_csrf(request, form.get(CSRF_FIELD)):
        raise PanelError(
            status=403,
            title="Form expired",
            message="This form was not sent from this site, or your session changed since it was "
            "shown. Go back, reload the page and submit it again.",
        )
    upload = form.get(field)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UploadRejected(400, "No file was chosen. Choose a CSV file, then press Import.")
    size = upload.size or 0
    if size > MAX_UPLOAD_BYTES:
        raise UploadRejected(413, TOO_LARGE)
    problem = await anyio.to_thread.run_sync(find_text_problem, upload.file)
    if problem:
        raise UploadRejected(400, problem)
    # Some older browsers send the whole path, and the pages show only the file name.
    filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:255]
    return CsvUpload(filename=filename, size=size, file=upload.file)


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """Yield the request body, raising :class:`_BodyTooLarge` as soon as it exceeds ``limit`` bytes."""
    received = 0
    async with aclosing(request.stream()) as stream:
        async for chunk in stream:
            received += len(chunk)
            if received > limit:
                raise _BodyTooLarge()
            yield chunk


def find_text_problem(file: BinaryIO) -> str | None:
    """Return why ``file`` cannot be CSV text, or None if it can. The file is left at its start.

    The file must be UTF-8, contain no NUL byte, and have more than blank space. Lines are decoded
    one by one, which is exact for UTF-8 because a newline byte is never part of a longer character.
    """
    has_text = False
    try:
        for number, line in enumerate(file, start=1):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                return (
                    f"The file is not UTF-8 text: line {number} has bytes that are not valid UTF-8. "
                    'Save the file as "CSV UTF-8" in your spreadsheet program, then import it again.'
                )
            if "\x00" in text:
                return (
                    f"The file is not CSV text: line {number} contains a NUL byte. "
                    'Save the file as "CSV UTF-8" in your spreadsheet program, then import it again.'
                )
            has_text = has_text or bool(text.lstrip("\ufeff").strip())
    finally:
        file.seek(0)
    if not has_text:
        return "The file is empty. Choose a CSV file with a header row and at least one person."
    return None
