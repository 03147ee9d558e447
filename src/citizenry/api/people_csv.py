"""People import from and export to CSV files.

The header names person fields (``first_name``, ``email``, ``external_id`` ...), plus
``address1``, ``address2``, ``address3``, ``city``, ``state``, ``zip``, ``country_code``, ``lat`` and
``lng`` for the primary address, and ``tags`` as a JSON array of names. Every row is checked as an
API write would be. Bad rows are reported with their line numbers, and the others are imported in
one transaction, so an interrupted import leaves nothing behind.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, cast

from sqlalchemy import Table, insert, literal_column, select
from sqlalchemy.orm import Session

from citizenry.api.errors import ValidationFailed
from citizenry.api.person_custom import custom_values_json, load_custom_fields
from citizenry.api.person_emails import ADDRESS_COLUMNS as EMAIL_SLOTS
from citizenry.api.person_json import ADDRESS_FIELDS, PLAIN_FIELDS
from citizenry.api.person_write import (
    BOOLEAN_COLUMNS,
    check_identity_values,
    new_person_columns,
    validate_person,
)
from citizenry.store.models import CustomField, Nation, Person, Tag, Tagging
from citizenry.store.types import utcnow

logger = logging.getLogger(__name__)

#: Rows written to the database at a time.
BATCH_SIZE = 5000
#: Bad rows kept for the report; the count goes on past it.
MAX_REPORTED_ERRORS = 1000

INTEGER_FIELDS = frozenset({"support_level", "signup_type", "recruiter_id", "priority_level"})
TRUE_WORDS = frozenset({"true", "1", "yes", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "n"})

#: Columns written by an export, in order.
EXPORT_FIELDS = (
    "id",
    *(name for name in PLAIN_FIELDS if name not in {"precinct_id", "recruiter_id"}),
    "birthdate",
    *ADDRESS_FIELDS,
    "tags",
)


@dataclass
class ImportReport:
    imported: int = 0
    rejected: int = 0
    #: (line number, problems) of the first rejected rows.
    errors: list[tuple[int, list[str]]] = field(default_factory=list)

    def reject(self, line: int, problems: list[str]) -> None:
        """Count a rejected row; keep its problems while the report has room."""
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append((line, problems))


def _row_to_person(row: dict[str, str], checkbox_fields: frozenset[str]) -> dict[str, Any]:
    """Turn CSV text into the JSON types a person write takes; empty cells are left out."""
    data: dict[str, Any] = {}
    address: dict[str, Any] = {}
    for name, raw in row.items():
        if name is None:
            raise ValidationFailed(["the row has more cells than the header"])
        value = (raw or "").strip()
        if not value or name == "id":  # an export's ids are not imported; new rows get new ids
            continue
        if name in ADDRESS_FIELDS:
            address[name] = value
        elif name == "tags":
            try:
                data["tags"] = json.loads(value)
            except ValueError:
                raise ValidationFailed(['tags must be a JSON array of names, such as ["a", "b"]']) from None
        elif name in BOOLEAN_COLUMNS or name in checkbox_fields:
            if value.lower() not in TRUE_WORDS | FALSE_WORDS:
                raise ValidationFailed([f"{name} must be true or false"])
            data[name] = value.lower() in TRUE_WORDS
        elif name in INTEGER_FIELDS:
            if not value.lstrip("-").isdigit():
                raise ValidationFailed([f"{name} must be a whole number"])
            data[name] = int(value)
        else:
            data[name] = value
    if address:
        data["primary_address"] = address
    return data


def _required_defaults() -> dict[str, Any]:
    """Return the default of each NOT NULL person column that a row may leave out."""
    defaults: dict[str, Any] = {}
    for column in Person.__table__.columns:
        if column.nullable or column.name in {
            "id",
            "nation_id",
            "created_at",
            "updated_at",
            "extra",
            "custom_values",
        }:
            continue
        default = column.default.arg if column.default is not None else None
        if default is not None and not callable(default):
            defaults[column.name] = default
    return defaults


_REQUIRED_DEFAULTS = _required_defaults()


@dataclass(frozen=True)
class _Row:
    columns: dict[str, Any]
    extra: dict[str, Any]
    custom_values: dict[str, Any]
    tags: list[str]


def _insert_batch(session: Session, nation_id: int, batch: list[_Row], tag_ids: dict[str, int]) -> None:
    now = utcnow()
    # Every row of one executemany needs the same keys. A field that some rows give is None in
    # the other rows, and a NOT NULL column that no row gives takes its default.
    given_columns = {name for row in batch for name in row.columns}
    base = {**_REQUIRED_DEFAULTS, **dict.fromkeys(given_columns - _REQUIRED_DEFAULTS.keys())}
    common: dict[str, Any] = {"nation_id": nation_id, "created_at": now, "updated_at": now}
    # A JSON object that every row leaves empty is written once into the statement: encoding {}
    # twice a row costs a tenth of the import.
    objects = {name: any(getattr(row, name) for row in batch) for name in ("extra", "custom_values")}
    values = [
        {**base, **common, **{name: getattr(row, name) for name in objects if objects[name]}, **row.columns}
        for row in batch
    ]
    empty_objects: dict[str, Any] = {
        name: literal_column("'{}'") for name, given in objects.items() if not given
    }
    # Core, not the ORM's bulk insert: about twice as fast for plain rows (measured with
    # bench/people_import.py), and the rows need no ORM objects.
    table = cast(Table, Person.__table__)
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # Asking SQLAlchemy for ids in row order makes it insert one row per statement on SQLite.
        # One multi-row INSERT numbers its rows in order, so sorted ids are in row order.
        statement = insert(table).values(empty_objects).returning(table.c.id)
        ids = sorted(connection.execute(statement, values).scalars())
    else:
        statement = insert(table).values(empty_objects).returning(table.c.id, sort_by_parameter_order=True)
        ids = list(connection.execute(statement, values).scalars())
    taggings = []
    for person_id, row in zip(ids, batch, strict=True):
        for name in row.tags:
            if name not in tag_ids:
                tag = Tag(nation_id=nation_id, name=name)
                session.add(tag)
                session.flush()
                tag_ids[name] = tag.id
            taggings.append({"person_id": person_id, "tag_id": tag_ids[name], "created_at": now})
    if taggings:
        session.execute(insert(Tagging), taggings)


def _readable_rows(reader: csv.DictReader[str], report: ImportReport) -> Iterator[dict[str, str]]:
    """Yield the rows of ``reader``; a row the csv module cannot read is rejected, and reading goes on."""
    rows = iter(reader)
    while True:
        try:
            yield next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            # The reader does not count the line it failed on; the row starts on the next one.
            report.reject(reader.line_num + 1, [f"the row is not valid CSV: {error}"])


def import_people(
    session: Session, nation: Nation, lines: IO[str], *, on_progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Import people from CSV text into ``nation``; see the module docs for the columns."""
    reader = csv.DictReader(lines)
    custom_fields = load_custom_fields(session, nation.id)
    checkbox_fields = frozenset(slug for slug, field in custom_fields.items() if field.type == "checkbox")
    try:
        header = reader.fieldnames or []
    except csv.Error as error:
        raise ValidationFailed([f"the header line is not valid CSV: {error}"]) from None
    unknown = [name for name in header if name not in _IMPORT_COLUMNS and name not in custom_fields]
    if unknown:
        raise ValidationFailed([f"unknown column {name!r}" for name in unknown[:10]])

    report = ImportReport()
    tag_ids = {
        tag.name: tag.id
        for tag in session.execute(select(Tag.name, Tag.id).where(Tag.nation_id == nation.id))
    }
    batch: list[_Row] = []
    for row in _readable_rows(reader, report):
        try:
            changes = validate_person(_row_to_person(row, checkbox_fields), custom_fields)
            columns = new_person_columns(changes)
            check_identity_values(columns)
        except ValidationFailed as error:
            report.reject(reader.line_num, list(error.extra["validation_errors"]))
            continue

        batch.append(
            _Row(columns=columns, extra=changes.extra, custom_values=changes.custom_values, tags=changes.tags)
        )
        if len(batch) >= BATCH_SIZE:
            _insert_batch(session, nation.id, batch, tag_ids)
            report.imported += len(batch)
            batch = []
            if on_progress:
                on_progress(report.imported + report.rejected)

    if batch:
        _insert_batch(session, nation.id, batch, tag_ids)
        report.imported += len(batch)
    if on_progress:
        on_progress(report.imported + report.rejected)
    logger.info(
        "imported %s people into nation id=%s; %s rows rejected", report.imported, nation.id, report.rejected
    )
    return report


_IMPORT_COLUMNS = frozenset(
    {
        "id",
        *PLAIN_FIELDS,
        "birthdate",
        *ADDRESS_FIELDS,
        "tags",
        *EMAIL_SLOTS,
        "legal_name",
        "prefix",
        "suffix",
    }
) - {"created_at", "updated_at", "profile_image_url_ssl", "primary_address", "precinct_id"}


def export_people(session: Session, nation: Nation, out: IO[str]) -> Iterator[int]:
    """Write the nation's people as CSV, yielding how many rows are written so far."""
    writer = csv.writer(out)
    custom_fields = load_custom_fields(session, nation.id)
    writer.writerow([*EXPORT_FIELDS, *custom_fields])
    written = 0
    after = 0
    while True:
        people = list(
            session.scalars(
                select(Person)
                .where(Person.nation_id == nation.id, Person.id > after)
                .order_by(Person.id)
                .limit(BATCH_SIZE)
            )
        )
        if not people:
            break
        tags: dict[int, list[str]] = {}
        for person_id, name in session.execute(
            select(Tagging.person_id, Tag.name)
            .join(Tag, Tag.id == Tagging.tag_id)
            .where(Tagging.person_id.in_([p.id for p in people]))
        ):
            tags.setdefault(person_id, []).append(name)
        for person in people:
            writer.writerow(_export_row(person, tags.get(person.id, []), custom_fields))
        written += len(people)
        after = people[-1].id
        session.expunge_all()
        yield written


def _export_row(person: Person, tags: Iterable[str], custom_fields: dict[str, CustomField]) -> list[Any]:
    address = person.primary_address or {}
    custom_values = custom_values_json(person, custom_fields)
    cells: list[Any] = []
    for name in (*EXPORT_FIELDS, *custom_fields):
        if name in custom_values:
            value = custom_values[name]
        elif name in ADDRESS_FIELDS:
            value = address.get(name)
        elif name == "tags":
            value = json.dumps(sorted(tags), ensure_ascii=False) if tags else ""
        elif name == "birthdate":
            value = person.birthdate.isoformat() if person.birthdate else ""
        else:
            value = getattr(person, name)
        if isinstance(value, bool):
            value = "true" if value else "false"
        cells.append("" if value is None else value)
    return cells
