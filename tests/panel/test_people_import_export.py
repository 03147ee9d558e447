"""People > Import and People > Export in the control panel."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient
from starlette.types import Message

from citizenry.api import people_csv
from citizenry.panel import people_upload
from citizenry.panel.people_import_jobs import MAX_RUNNING_IMPORTS, ImportJob, ImportJobs
from citizenry.store.models import Nation, Person, Tag, Tagging
from tests.factory import Factory, NationInfo, UserInfo
from tests.flows import hidden_field, sign_in

PEOPLE = "/admin/people"
IMPORT = f"{PEOPLE}/import"
EXPORT = f"{PEOPLE}/export"

GOOD_CSV = (
    "first_name,last_name,email,is_volunteer,support_level,city,tags\n"
    'Ann,Lee,ann@example.org,true,3,Springfield,"[""donor"", ""a, b""]"\n'
    "Bob,Ng,bob@example.org,false,,Shelbyville,\n"
    "Cy,,,,,,\n"
)

# Lines 3 and 5 are bad: no identity, and a yes-or-no field that is neither.
MIXED_CSV = (
    "first_name,last_name,email,is_volunteer\n"
    "Ann,Lee,ann@example.org,true\n"
    ",,,true\n"
    "Bob,,bob@example.org,\n"
    "Cy,,,maybe\n"
    "Dee,,,no\n"
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class _Open:
    element: Element
    depth: int = 1


class _TestIdParser(HTMLParser):
    """Collect the elements that have a ``data-testid``, with their attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[Element]] = {}
        self._open: list[_Open] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for item in self._open:
            if item.element.tag == tag:
                item.depth += 1
        values = {name: value or "" for name, value in attrs}
        if "data-testid" in values:
            element = Element(tag=tag, attrs=values)
            self.found.setdefault(values["data-testid"], []).append(element)
            self._open.append(_Open(element))

    def handle_endtag(self, tag: str) -> None:
        for item in self._open:
            if item.element.tag == tag:
                item.depth -= 1
        self._open = [item for item in self._open if item.depth > 0]

    def handle_data(self, data: str) -> None:
        for item in self._open:
            item.element.text += data


def elements(html: str, test_id: str) -> list[Element]:
    parser = _TestIdParser()
    parser.feed(html)
    return parser.found.get(test_id, [])


def only(html: str, test_id: str) -> Element:
    found = elements(html, test_id)
    assert len(found) == 1, f"expected one element with data-testid={test_id!r}, found {len(found)}"
    return found[0]


def count_of(html: str, test_id: str) -> int:
    return int(only(html, test_id).attrs["data-count"])


@dataclass
class Admin:
    client: TestClient
    nation: NationInfo
    user: UserInfo
    csrf: str = field(default="")

    def url(self, path: str) -> str:
        return self.nation.prefix + path

    def upload(self, content: bytes | str, *, filename: str = "people.csv", csrf: str | None = None) -> Any:
        body = content.encode() if isinstance(content, str) else content
        token = self.csrf if csrf is None else csrf
        data = {"csrf_token": token} if token else {}
        return self.client.post(self.url(IMPORT), data=data, files={"file": (filename, body, "text/csv")})

    def import_page(self, content: bytes | str) -> Any:
        """Upload ``content``, follow the redirect, and return the import's page."""
        started = self.upload(content)
        assert started.status_code == 303, started.text
        assert started.headers["location"].startswith(self.url(f"{PEOPLE}/imports/"))
        page = self.client.get(started.headers["location"])
        assert page.status_code == 200, page.text
        return page

    def export(self) -> str:
        response = self.client.get(self.url(EXPORT))
        assert response.status_code == 200, response.text
        return response.text


def _admin(client: TestClient, factory: Factory) -> Admin:
    nation = factory.nation()
    user = factory.user(nation, level="admin")
    assert sign_in(client, nation.prefix, user.email).status_code == 303
    form = client.get(nation.prefix + IMPORT)
    assert form.status_code == 200
    return Admin(client=client, nation=nation, user=user, csrf=hidden_field(form.text, "csrf_token"))


@pytest.fixture
def admin(client: TestClient, factory: Factory) -> Admin:
    return _admin(client, factory)


def _people(factory: Factory, nation: NationInfo) -> list[dict[str, Any]]:
    """Return the nation's people in id order, with the fields these tests check and their tags."""

    def read(session: Session) -> list[dict[str, Any]]:
        rows = list(session.scalars(select(Person).where(Person.nation_id == nation.id).order_by(Person.id)))
        tags: dict[int, list[str]] = {}
        for person_id, name in session.execute(
            select(Tagging.person_id, Tag.name)
            .join(Tag, Tag.id == Tagging.tag_id)
            .where(Tagging.person_id.in_([row.id for row in rows]))
        ):
            tags.setdefault(person_id, []).append(name)
        return [
            {
                "first_name": row.first_name,
                "last_name": row.last_name,
                "email": row.email,
                "is_volunteer": row.is_volunteer,
                "support_level": row.support_level,
                "city": (row.primary_address or {}).get("city"),
                "tags": sorted(tags.get(row.id, [])),
            }
            for row in rows
        ]

    return factory.database.transaction(read)


def _jobs(client: TestClient) -> ImportJobs:
    jobs = getattr(client.app.state, "people_import_jobs", None)  # type: ignore[attr-defined]
    if jobs is None:
        jobs = ImportJobs()
        client.app.state.people_import_jobs = jobs  # type: ignore[attr-defined]
    assert isinstance(jobs, ImportJobs)
    return jobs


@pytest.fixture
def running_jobs(client: TestClient) -> Iterator[list[ImportJob]]:
    """Collect jobs a test starts by hand, and end them afterwards so later tests can import."""
    started: list[ImportJob] = []
    yield started
    for job in started:
        if job.state == "running":
            job.fail("ended by the test")


# The import


def test_import_creates_people(admin: Admin, factory: Factory) -> None:
    page = admin.import_page(GOOD_CSV)

    assert only(page.text, "import-state").attrs["data-state"] == "finished"
    assert count_of(page.text, "imported") == 3
    assert count_of(page.text, "rejected") == 0
    assert elements(page.text, "rejected-row") == []
    people = _people(factory, admin.nation)
    assert [person["first_name"] for person in people] == ["Ann", "Bob", "Cy"]
    assert people[0]["email"] == "ann@example.org"
    assert people[0]["is_volunteer"] is True
    assert people[0]["support_level"] == 3
    assert people[0]["city"] == "Springfield"
    assert people[0]["tags"] == ["a, b", "donor"]
    assert people[1]["is_volunteer"] is False


def test_import_reports_bad_rows(admin: Admin, factory: Factory) -> None:
    page = admin.import_page(MIXED_CSV)

    assert only(page.text, "import-state").attrs["data-state"] == "finished"
    assert count_of(page.text, "imported") == 3
    assert count_of(page.text, "rejected") == 2
    rows = elements(page.text, "rejected-row")
    assert [row.attrs["data-line"] for row in rows] == ["3", "5"]
    assert "identity" in rows[0].text
    assert "is_volunteer must be true or false" in rows[1].text
    assert elements(page.text, "errors-capped") == []
    assert [person["first_name"] for person in _people(factory, admin.nation)] == ["Ann", "Bob", "Dee"]


def test_import_with_bom_and_crlf(admin: Admin, factory: Factory) -> None:
    content = "\ufefffirst_name,email\r\nAnn,ann@example.org\r\n".encode()

    page = admin.import_page(content)

    assert count_of(page.text, "imported") == 1
    assert _people(factory, admin.nation)[0]["email"] == "ann@example.org"


def test_report_cap_is_stated(admin: Admin, factory: Factory) -> None:
    cap = people_csv.MAX_REPORTED_ERRORS
    bad_rows = "".join(f"Person{i},maybe\n" for i in range(cap + 5))
    content = "first_name,is_volunteer\nGood,true\n" + bad_rows

    page = admin.import_page(content)

    assert count_of(page.text, "imported") == 1
    assert count_of(page.text, "rejected") == cap + 5
    rows = elements(page.text, "rejected-row")
    assert len(rows) == cap
    assert rows[0].attrs["data-line"] == "3"
    assert only(page.text, "errors-capped").text
    assert len(_people(factory, admin.nation)) == 1


def test_header_only_imports_nobody(admin: Admin, factory: Factory) -> None:
    page = admin.import_page("first_name,last_name\n")

    assert only(page.text, "import-state").attrs["data-state"] == "finished"
    assert count_of(page.text, "imported") == 0
    assert count_of(page.text, "rejected") == 0
    assert _people(factory, admin.nation) == []


def test_unknown_column_fails_import(admin: Admin, factory: Factory) -> None:
    page = admin.import_page("first_name,favourite_colour\nAnn,red\n")

    assert only(page.text, "import-state").attrs["data-state"] == "failed"
    problems = only(page.text, "import-problems").text
    assert "favourite_colour" in problems
    assert elements(page.text, "imported") == []
    assert _people(factory, admin.nation) == []


def test_row_the_csv_module_cannot_read_is_rejected(admin: Admin, factory: Factory) -> None:
    # A cell over the csv module's field size limit makes the reader raise csv.Error.
    content = "first_name,note\nAnn," + "x" * (csv.field_size_limit() + 1) + "\nBo,\n"

    page = admin.import_page(content)

    assert only(page.text, "import-state").attrs["data-state"] == "finished"
    assert [row.attrs["data-line"] for row in elements(page.text, "rejected-row")] == ["2"]
    assert [person["first_name"] for person in _people(factory, admin.nation)] == ["Bo"]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"", None),
        (b"\n  \r\n\n", None),
        ("\ufeff".encode(), None),
        (b"first_name\nAnn\nJos\xe9\n", "3"),
        (b"\xff\xfef\x00i\x00r\x00s\x00t\x00", "1"),
        (b"first_name\nAnn\x00\n", "2"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "1"),
    ],
    ids=["empty", "blank", "bom-only", "latin-1", "utf-16", "nul", "png"],
)
def test_bad_file_is_rejected(admin: Admin, factory: Factory, content: bytes, line: str | None) -> None:
    response = admin.upload(content)

    assert response.status_code == 400
    message = only(response.text, "upload-error").text
    if line is not None:
        assert f"line {line} " in message
    assert _people(factory, admin.nation) == []
    assert _jobs(admin.client).of_nation(admin.nation.id) == []


def test_no_file_chosen(admin: Admin) -> None:
    # A browser sends an empty part with an empty file name when no file is chosen.
    response = admin.client.post(
        admin.url(IMPORT),
        data={"csrf_token": admin.csrf},
        files={"file": ("", b"", "application/octet-stream")},
    )

    assert response.status_code == 400
    assert only(response.text, "upload-error").text


def test_form_without_file_part(admin: Admin) -> None:
    response = admin.client.post(admin.url(IMPORT), data={"csrf_token": admin.csrf})

    assert response.status_code == 400
    assert only(response.text, "upload-error").text


def test_unreadable_multipart_body(admin: Admin) -> None:
    response = admin.client.post(
        admin.url(IMPORT),
        content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--xyz--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )

    assert response.status_code == 400
    assert only(response.text, "upload-error").text


def test_file_at_size_limit_is_imported(
    admin: Admin, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = "first_name\n" + "Ann\n" * 20
    monkeypatch.setattr(people_upload, "MAX_UPLOAD_BYTES", len(content))

    page = admin.import_page(content)

    assert count_of(page.text, "imported") == 20


def test_file_over_size_limit(admin: Admin, factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    content = "first_name\n" + "Ann\n" * 20
    monkeypatch.setattr(people_upload, "MAX_UPLOAD_BYTES", len(content) - 1)

    response = admin.upload(content)

    assert response.status_code == 413
    assert only(response.text, "upload-error").text
    assert _people(factory, admin.nation) == []


def test_declared_length_over_limit(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(people_upload, "MAX_UPLOAD_BYTES", 1000)
    content = "first_name\n" + "Ann\n" * 50_000

    response = admin.upload(content)

    assert response.status_code == 413
    assert only(response.text, "upload-error").text


def _multipart(csrf: str, content: bytes, boundary: str = "citizenry-test") -> bytes:
    return (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{csrf}\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


def _post_in_chunks(
    admin: Admin, chunks: list[bytes], boundary: str, *, disconnected: bool = False
) -> tuple[int, int]:
    """POST ``chunks`` to the import as separate ASGI messages; return the status and the chunks read.

    The test client reads a streamed request body whole before the app receives it, so this calls
    the app directly, on the test client's event loop, with the client's session cookie.
    With ``disconnected``, sending the response fails as it does for a client that went away.
    """
    read = 0
    status = 0

    async def receive() -> Message:
        nonlocal read
        if read == len(chunks):
            return {"type": "http.disconnect"}
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: Message) -> None:
        nonlocal status
        if disconnected:
            raise OSError("the client disconnected")
        if message["type"] == "http.response.start":
            status = message["status"]

    path = admin.url(IMPORT)
    cookie = f"citizenry_session={admin.client.cookies['citizenry_session']}"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"cookie", cookie.encode()),
            (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def call() -> None:
        await admin.client.app(scope, receive, send)

    admin.client.portal.call(call)  # type: ignore[union-attr]
    return status, read


def test_streamed_body_over_limit(admin: Admin, factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body with no Content-Length is rejected once it passes the limit, before the rest is read."""
    monkeypatch.setattr(people_upload, "MAX_UPLOAD_BYTES", 1000)
    monkeypatch.setattr(people_upload, "FORM_OVERHEAD_BYTES", 1000)
    body = _multipart(admin.csrf, ("first_name\n" + "Ann\n" * 5000).encode())
    chunks = [body[start : start + 1024] for start in range(0, len(body), 1024)]

    status, read = _post_in_chunks(admin, chunks, "citizenry-test")

    assert status == 413
    # The limit is 2000 bytes, which the second chunk of 1024 bytes passes.
    assert read == 2
    assert len(chunks) > 15
    assert _people(factory, admin.nation) == []


def test_streamed_body_under_limit(admin: Admin, factory: Factory) -> None:
    body = _multipart(admin.csrf, b"first_name\nAnn\nBob\n")

    status, read = _post_in_chunks(admin, [body[:50], body[50:100], body[100:]], "citizenry-test")

    assert status == 303
    assert read == 3
    assert len(_people(factory, admin.nation)) == 2


def test_import_runs_when_redirect_fails(admin: Admin, factory: Factory) -> None:
    body = _multipart(admin.csrf, b"first_name\nAnn\nBob\n")

    with pytest.raises(OSError, match="disconnected"):
        _post_in_chunks(admin, [body], "citizenry-test", disconnected=True)

    [job] = _jobs(admin.client).of_nation(admin.nation.id)
    assert job.state == "finished"
    assert len(_people(factory, admin.nation)) == 2


# Who may import and export


def test_missing_csrf_is_rejected(admin: Admin, factory: Factory) -> None:
    response = admin.upload(GOOD_CSV, csrf="")

    assert response.status_code == 403
    assert only(response.text, "error-message").text
    assert _people(factory, admin.nation) == []


def test_wrong_csrf_is_rejected(admin: Admin, factory: Factory) -> None:
    response = admin.upload(GOOD_CSV, csrf="not-the-session-token")

    assert response.status_code == 403
    assert _people(factory, admin.nation) == []


def test_staffer_is_rejected(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()
    staffer = factory.user(nation, level="staffer")
    assert sign_in(client, nation.prefix, staffer.email).status_code == 303
    csrf = hidden_field(client.get(f"{nation.prefix}/admin").text, "csrf_token")

    for path in (PEOPLE, IMPORT, EXPORT):
        assert client.get(nation.prefix + path).status_code == 403, path
    upload = client.post(
        nation.prefix + IMPORT,
        data={"csrf_token": csrf},
        files={"file": ("people.csv", GOOD_CSV.encode(), "text/csv")},
    )
    assert upload.status_code == 403
    assert _people(factory, nation) == []
    dashboard = client.get(f"{nation.prefix}/admin")
    assert f'href="{nation.prefix}{PEOPLE}"' not in dashboard.text


def test_signed_out_is_sent_to_sign_in(client: TestClient, factory: Factory) -> None:
    nation = factory.nation()

    for path in (PEOPLE, IMPORT, EXPORT):
        response = client.get(nation.prefix + path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith(f"{nation.prefix}/login?next=")
    upload = client.post(
        nation.prefix + IMPORT, files={"file": ("people.csv", GOOD_CSV.encode(), "text/csv")}
    )
    assert upload.status_code == 303
    assert upload.headers["location"].startswith(f"{nation.prefix}/login?next=")
    assert _people(factory, nation) == []


def test_other_nation_admin_is_rejected(admin: Admin, factory: Factory) -> None:
    other = factory.nation()

    for path in (PEOPLE, IMPORT, EXPORT):
        assert admin.client.get(other.prefix + path).status_code == 403, path


def test_import_page_of_other_nation_not_found(
    admin: Admin, factory: Factory, app_fixture_client: TestClient
) -> None:
    started = admin.upload(GOOD_CSV)
    job_path = started.headers["location"].removeprefix(admin.nation.prefix)
    other = _admin(app_fixture_client, factory)

    response = other.client.get(other.url(job_path))

    assert response.status_code == 404
    assert admin.client.get(admin.url(f"{PEOPLE}/imports/no-such-import")).status_code == 404


# Progress and the People page


def test_running_import_page_refreshes(admin: Admin, running_jobs: list[ImportJob]) -> None:
    job = _jobs(admin.client).start(
        nation_id=admin.nation.id, user_id=admin.user.id, filename="slow.csv", size=1000
    )
    running_jobs.append(job)
    job.bytes_read = 250
    job.rows_checked = 5000

    page = admin.client.get(admin.url(f"{PEOPLE}/imports/{job.id}"))

    assert page.status_code == 200
    assert page.headers["refresh"] == "2"
    state = only(page.text, "import-state")
    assert state.attrs["data-state"] == "running"
    assert "25%" in state.text
    assert "5,000" in state.text
    assert '<progress id="import-progress" max="100" value="25">' in page.text
    job.finish(people_csv.ImportReport(imported=4, rejected=0))
    finished = admin.client.get(admin.url(f"{PEOPLE}/imports/{job.id}"))
    assert "refresh" not in finished.headers
    assert count_of(finished.text, "imported") == 4


def test_second_import_waits_for_first(admin: Admin, factory: Factory, running_jobs: list[ImportJob]) -> None:
    job = _jobs(admin.client).start(
        nation_id=admin.nation.id, user_id=admin.user.id, filename="slow.csv", size=1000
    )
    running_jobs.append(job)

    response = admin.upload(GOOD_CSV)

    assert response.status_code == 409
    assert only(response.text, "upload-error").text
    assert f'href="{admin.nation.prefix}{PEOPLE}/imports/{job.id}"' in response.text
    assert _people(factory, admin.nation) == []


def test_server_import_limit(admin: Admin, factory: Factory, running_jobs: list[ImportJob]) -> None:
    jobs = _jobs(admin.client)
    for _ in range(MAX_RUNNING_IMPORTS):
        other = factory.nation()
        running_jobs.append(jobs.start(nation_id=other.id, user_id=admin.user.id, filename="a.csv", size=1))

    response = admin.upload(GOOD_CSV)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert only(response.text, "upload-error").text
    assert _people(factory, admin.nation) == []


def test_people_page_lists_imports(admin: Admin) -> None:
    admin.import_page(MIXED_CSV)
    admin.import_page("first_name,favourite_colour\nAnn,red\n")

    page = admin.client.get(admin.url(PEOPLE))

    assert page.status_code == 200
    assert count_of(page.text, "people-count") == 3
    assert [job.attrs["data-state"] for job in elements(page.text, "import-job")] == ["failed", "finished"]
    assert f'href="{admin.nation.prefix}{IMPORT}"' in page.text
    assert f'href="{admin.nation.prefix}{EXPORT}"' in page.text


def test_navigation_links_people(admin: Admin) -> None:
    dashboard = admin.client.get(admin.url("/admin"))

    assert f'href="{admin.nation.prefix}{PEOPLE}"' in dashboard.text


def test_import_form_is_labelled(admin: Admin) -> None:
    form = admin.client.get(admin.url(IMPORT)).text

    assert 'enctype="multipart/form-data"' in form
    assert '<label for="file">' in form
    assert '<input id="file" name="file" type="file"' in form
    assert 'name="csrf_token"' in form


# The export


def test_export_downloads_csv(admin: Admin, factory: Factory) -> None:
    admin.import_page(GOOD_CSV)

    response = admin.client.get(admin.url(EXPORT))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="{admin.nation.slug}-people-')
    assert disposition.endswith('.csv"')
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["first_name"] for row in rows] == ["Ann", "Bob", "Cy"]
    assert json.loads(rows[0]["tags"]) == ["a, b", "donor"]


def test_export_has_cli_columns(admin: Admin, factory: Factory) -> None:
    admin.import_page(GOOD_CSV)
    cli_export = io.StringIO(newline="")

    def export(session: Session) -> None:
        list(people_csv.export_people(session, session.get_one(Nation, admin.nation.id), cli_export))

    factory.database.transaction(export)

    assert admin.export() == cli_export.getvalue()


def test_export_of_empty_nation(admin: Admin) -> None:
    text = admin.export()

    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0][0] == "id"


def test_export_streams_in_batches(admin: Admin, factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    factory.people(admin.nation, 5)
    monkeypatch.setattr(people_csv, "BATCH_SIZE", 2)

    with admin.client.stream("GET", admin.url(EXPORT)) as response:
        assert response.status_code == 200
        chunks = [chunk for chunk in response.iter_raw() if chunk]

    # One chunk per batch of two people: the header comes with the first.
    assert len(chunks) == 3
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert [row["first_name"] for row in rows] == [f"First{i}" for i in range(5)]


def test_export_round_trip(admin: Admin, factory: Factory, app_fixture_client: TestClient) -> None:
    admin.import_page(GOOD_CSV)
    admin.import_page(MIXED_CSV)
    factory.people(admin.nation, 3)
    exported = admin.export()
    target = _admin(app_fixture_client, factory)

    page = target.import_page(exported)

    assert count_of(page.text, "imported") == 9
    assert count_of(page.text, "rejected") == 0
    assert _people(factory, target.nation) == _people(factory, admin.nation)

    def without_ids(text: str) -> list[dict[str, str]]:
        rows = list(csv.DictReader(io.StringIO(text)))
        for row in rows:
            del row["id"]
        return rows

    assert without_ids(target.export()) == without_ids(exported)
