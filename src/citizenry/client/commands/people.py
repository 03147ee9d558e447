"""``citizenry people``: list, get, search and export the nation's people through the API."""

from __future__ import annotations

import csv
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress

from citizenry.client import Client, NotFound
from citizenry.client.commands.exits import reported
from citizenry.client.commands.output import (
    EXPORT_COLUMNS,
    Command,
    csv_row,
    echo_json,
    fields_table,
    format_option,
    people_table,
    print_table,
    shown_fields,
)
from citizenry.client.commands.target import nation_options, open_client, resolve_target

#: The largest page the API serves.
MAX_PAGE_SIZE = 100


@click.group()
def people() -> None:
    """List, show, search and export the nation's people through the API."""


def _rows_options(command: Command) -> Command:
    """Add ``--max``, ``--all`` and ``--page-size`` to a listing command."""
    command = click.option(
        "--page-size",
        type=click.IntRange(1, MAX_PAGE_SIZE),
        default=None,
        help=f"People per API request (the API's limit). Default: --max, at most {MAX_PAGE_SIZE}.",
    )(command)
    command = click.option("--all", "all_rows", is_flag=True, help="Show every row, ignoring --max.")(command)
    return click.option(
        "--max",
        "max_rows",
        type=click.IntRange(min=1),
        default=50,
        show_default=True,
        help="Maximum number of rows to show. Pages are fetched only as far as needed.",
    )(command)


def _page_size(max_rows: int, all_rows: bool, page_size: int | None) -> int:
    if page_size is not None:
        return page_size
    return MAX_PAGE_SIZE if all_rows else min(max_rows, MAX_PAGE_SIZE)


def _show_people(found: Iterable[Mapping[str, Any]], output_format: str) -> None:
    if output_format == "json":
        for person in found:
            echo_json(person)
        return
    print_table(people_table(list(found)))


@people.command("list")
@nation_options
@_rows_options
@format_option()
def list_people(
    nation: str | None,
    base_url: str | None,
    max_rows: int,
    all_rows: bool,
    page_size: int | None,
    output_format: str,
) -> None:
    """List the nation's people, abbreviated, in id order."""
    target = resolve_target(nation, base_url)
    with reported(target.base_url, target.nation), open_client(target) as client:
        found = client.list_people(limit=_page_size(max_rows, all_rows, page_size))
        _show_people(found if all_rows else islice(found, max_rows), output_format)


def _parse_filters(values: tuple[str, ...]) -> dict[str, str]:
    filters = {}
    for value in values:
        name, equals, wanted = value.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(
                f"{value!r} is not NAME=VALUE, such as last_name=Lovelace", param_hint="--filter"
            )
        filters[name.strip()] = wanted
    return filters


@people.command("search")
@nation_options
@click.option(
    "--filter",
    "filter_values",
    multiple=True,
    required=True,
    metavar="NAME=VALUE",
    help="A search parameter, such as last_name=Lovelace, city=Paris or custom_values[slug]=value. "
    "Repeat it for several.",
)
@_rows_options
@format_option()
def search_people(
    nation: str | None,
    base_url: str | None,
    filter_values: tuple[str, ...],
    max_rows: int,
    all_rows: bool,
    page_size: int | None,
    output_format: str,
) -> None:
    """List the people matching every --filter (GET /api/v1/people/search)."""
    filters = _parse_filters(filter_values)
    target = resolve_target(nation, base_url)
    with reported(target.base_url, target.nation), open_client(target) as client:
        found = client.search_people(filters, limit=_page_size(max_rows, all_rows, page_size))
        _show_people(found if all_rows else islice(found, max_rows), output_format)


@people.command("get")
@click.argument("person_id")
@nation_options
@click.option("--external", is_flag=True, help="PERSON_ID is an external_id rather than Citizenry's id.")
@format_option()
def get_person(
    person_id: str, nation: str | None, base_url: str | None, external: bool, output_format: str
) -> None:
    """Show one person, full representation."""
    target = resolve_target(nation, base_url)
    with reported(target.base_url, target.nation), open_client(target) as client:
        person = client.get_person(person_id, id_type="external" if external else None)
    if output_format == "json":
        echo_json(person)
    else:
        print_table(fields_table(shown_fields(person)))


def _custom_field_slugs(client: Client) -> list[str]:
    """Return the slugs of the nation's custom fields; NationBuilder serves no such endpoint."""
    try:
        body = client.request("GET", "/api/v1/custom_fields")
    except NotFound:
        return []
    results = body.get("results") if isinstance(body, dict) else None
    return [str(field["slug"]) for field in results or [] if isinstance(field, dict) and field.get("slug")]


def _write_rows(path: Path, rows: Iterator[list[Any]], header: list[str]) -> int:
    """Write the CSV file to a temporary file next to ``path``, then rename it over ``path``.

    A failed export leaves no half-written file behind, and an existing file is kept until the
    new one is complete.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    written = 0
    try:
        with temporary.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                written += 1
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return written


@people.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@nation_options
def export_people(path: Path, nation: str | None, base_url: str | None) -> None:
    """Write every person of the nation to the CSV file PATH.

    The columns are those of 'citizenry db export', followed by the nation's custom fields, so the
    file can be imported with 'citizenry db import'.
    """
    target = resolve_target(nation, base_url)
    with (
        reported(target.base_url, target.nation),
        open_client(target) as client,
        Progress(console=Console(stderr=True)) as progress,
    ):
        task = progress.add_task("Exporting", total=client.count_people())
        custom_fields = _custom_field_slugs(client)

        def rows() -> Iterator[list[Any]]:
            for person in client.list_people(limit=MAX_PAGE_SIZE):
                yield csv_row(person, custom_fields)
                progress.advance(task)

        written = _write_rows(path, rows(), [*EXPORT_COLUMNS, *custom_fields])
    click.echo(f"Exported {written} people to {path}.", err=True)
