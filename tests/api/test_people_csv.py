"""People import from and export to CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from citizenry.api.errors import ValidationFailed
from citizenry.api.people_csv import export_people, import_people
from citizenry.store.models import Nation, Person, Tag
from tests.factory import Factory

CSV = (
    "first_name,last_name,email,is_volunteer,support_level,city,lat,tags\n"
    'Ann,Lee,ann@x.org,true,3,Springfield,39.78,"[""a, b"", ""c/d""]"\n'
    ",,,,,,,\n"
    "Bob,,bob@x.org,maybe,,,,\n"
    "Cy,Z,cy@x.org,no,9,,,\n"
    "Dee,,,,,,,\n"
)


def _import(factory: Factory, nation_id: int, text: str):  # type: ignore[no-untyped-def]
    return factory.database.transaction(
        lambda session: import_people(session, session.get(Nation, nation_id), io.StringIO(text))
    )


def test_import_reports_bad_rows(factory: Factory) -> None:
    nation = factory.nation()

    report = _import(factory, nation.id, CSV)

    assert report.imported == 2
    assert report.rejected == 3
    assert [line for line, _ in report.errors] == [3, 4, 5]
    assert report.errors[1][1] == ["is_volunteer must be true or false"]

    def read(session: Session) -> list[tuple[str | None, bool, dict[str, object] | None]]:
        rows = session.scalars(select(Person).where(Person.nation_id == nation.id).order_by(Person.id))
        return [(p.first_name, p.is_volunteer, p.primary_address) for p in rows]

    people = factory.database.transaction(read)
    assert [name for name, _, _ in people] == ["Ann", "Dee"]
    assert people[0][1] is True
    assert people[0][2] is not None
    assert people[0][2]["city"] == "Springfield"
    assert people[0][2]["lat"] == "39.78"


def test_unknown_column_is_refused(factory: Factory) -> None:
    nation = factory.nation()

    with pytest.raises(ValidationFailed):
        _import(factory, nation.id, "first_name,favourite_colour\nAnn,red\n")

    assert (
        factory.database.transaction(
            lambda session: session.scalar(select(Person.id).where(Person.nation_id == nation.id))
        )
        is None
    )


def test_export_then_import_round_trip(factory: Factory) -> None:
    source = factory.nation()
    _import(factory, source.id, CSV)
    out = io.StringIO()
    factory.database.transaction(
        lambda session: list(export_people(session, session.get(Nation, source.id), out))
    )
    target = factory.nation()

    report = _import(factory, target.id, out.getvalue())

    assert report.imported == 2
    assert report.rejected == 0

    def tags(session: Session) -> list[str]:
        return sorted(session.scalars(select(Tag.name).where(Tag.nation_id == target.id)))

    assert factory.database.transaction(tags) == ["a, b", "c/d"]
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["first_name"] for row in exported] == ["Ann", "Dee"]
    assert json.loads(exported[0]["tags"]) == ["a, b", "c/d"]
    assert exported[0]["is_volunteer"] == "true"


def test_row_the_csv_module_cannot_read_is_reported(factory: Factory) -> None:
    nation = factory.nation()
    huge = "x" * (csv.field_size_limit() + 1)
    text = f"first_name,last_name\nAnn,Lee\nBo,{huge}\nCy,Ng\n"

    report = _import(factory, nation.id, text)

    assert (report.imported, report.rejected) == (2, 1)
    assert [line for line, _ in report.errors] == [3]
    assert report.errors[0][1][0].startswith("the row is not valid CSV")


def test_many_tagged_rows_get_their_own_tags(factory: Factory) -> None:
    nation = factory.nation()
    lines = ["first_name,tags"] + [f'P{i},"[""t{i % 3}""]"' for i in range(12_000)]

    report = _import(factory, nation.id, "\n".join(lines) + "\n")

    def read(session: Session) -> list[tuple[str | None, list[str]]]:
        people = session.scalars(select(Person).where(Person.nation_id == nation.id).order_by(Person.id))
        return [(person.first_name, _tag_names(session, person.id)) for person in people]

    assert report.imported == 12_000
    people = factory.database.transaction(read)
    assert all(tags == [f"t{int(name[1:]) % 3}"] for name, tags in people if name)


def _tag_names(session: Session, person_id: int) -> list[str]:
    from citizenry.store.models import Tagging

    query = select(Tag.name).join(Tagging, Tagging.tag_id == Tag.id).where(Tagging.person_id == person_id)
    return list(session.scalars(query))
