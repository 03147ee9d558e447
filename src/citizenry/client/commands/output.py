"""Output of the developer commands: rich tables, JSON, and CSV rows.

``--format json`` prints one JSON object for a single record (``get``, ``whoami``) and JSON Lines,
one person object per line, for listings, so that a long listing streams and each line parses alone.
Tables are for people to read; scripts should use JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

FORMATS = ("table", "json")

#: A click command, or the function about to become one.
Command = TypeVar("Command", bound=Callable[..., Any])

#: The columns of ``people export``: the same as ``citizenry db export`` writes, so that the file
#: can be imported with ``citizenry db import``. The nation's custom fields follow them.
PERSON_COLUMNS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "work_phone_number",
    "employer",
    "occupation",
    "note",
    "party",
    "sex",
    "email_opt_in",
    "mobile_opt_in",
    "do_not_call",
    "do_not_contact",
    "has_facebook",
    "is_twitter_follower",
    "is_volunteer",
    "support_level",
    "signup_type",
    "civicrm_id",
    "county_file_id",
    "datatrust_id",
    "dw_id",
    "external_id",
    "linkedin_id",
    "nbec_guid",
    "ngp_id",
    "pf_strat_id",
    "rnc_id",
    "rnc_regid",
    "salesforce_id",
    "state_file_id",
    "twitter_id",
    "twitter_name",
    "van_id",
    "city_district",
    "county_district",
    "federal_district",
    "fire_district",
    "judicial_district",
    "labour_region",
    "school_district",
    "school_sub_district",
    "state_lower_district",
    "state_upper_district",
    "supranational_district",
    "village_district",
    "ward",
    "birthdate",
)
ADDRESS_COLUMNS = ("address1", "address2", "address3", "city", "state", "country_code", "zip", "lat", "lng")
EXPORT_COLUMNS = ("id", *PERSON_COLUMNS, *ADDRESS_COLUMNS, "tags")

#: The columns of the people table; the full records are in ``--format json``.
TABLE_HEADINGS = ("ID", "Name", "E-mail", "Phone", "City", "Tags")


def format_option() -> Callable[[Command], Command]:
    """Add ``--format table|json`` to a command."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for reading; json for scripts (JSON Lines for listings).",
    )


def _text(value: Any) -> Text:
    # Text, not a plain string, so that brackets in a name are not read as rich markup.
    if value is None:
        return Text("")
    if isinstance(value, list | dict):
        return Text(json.dumps(value, ensure_ascii=False))
    return Text(str(value))


def _name(person: Mapping[str, Any]) -> str:
    parts = (person.get("first_name"), person.get("last_name"))
    return " ".join(str(part) for part in parts if part)


def _city(person: Mapping[str, Any]) -> Any:
    address = person.get("primary_address")
    return address.get("city") if isinstance(address, Mapping) else None


def people_table(people: Iterable[Mapping[str, Any]]) -> Table:
    table = Table(*TABLE_HEADINGS)
    for person in people:
        tags = person.get("tags") or []
        table.add_row(
            _text(person.get("id")),
            _text(_name(person)),
            _text(person.get("email")),
            _text(person.get("phone") or person.get("mobile")),
            _text(_city(person)),
            _text(", ".join(str(tag) for tag in tags)),
        )
    return table


def fields_table(rows: Sequence[tuple[str, Any]]) -> Table:
    """Return a two-column table of field names and values."""
    table = Table("Field", "Value")
    for name, value in rows:
        table.add_row(_text(name), _text(value))
    return table


def shown_fields(person: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Return the fields of a person worth a row: those that are set, in the server's order."""
    return [(name, value) for name, value in person.items() if value not in (None, "", [], {})]


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False))


def print_table(table: Table) -> None:
    Console(highlight=False).print(table)


def csv_cell(value: Any) -> Any:
    """Write a value as ``citizenry db export`` does: booleans as true/false, null as empty."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value


def csv_row(person: Mapping[str, Any], custom_fields: Sequence[str]) -> list[Any]:
    """Return a person's cells in the order of ``EXPORT_COLUMNS`` followed by ``custom_fields``."""
    address = person.get("primary_address")
    address = address if isinstance(address, Mapping) else {}
    tags = sorted(str(tag) for tag in person.get("tags") or [])

    cells = [person.get(name) for name in ("id", *PERSON_COLUMNS)]
    cells += [address.get(name) for name in ADDRESS_COLUMNS]
    cells.append(json.dumps(tags, ensure_ascii=False) if tags else "")
    cells += [person.get(slug) for slug in custom_fields]
    return [csv_cell(cell) for cell in cells]
