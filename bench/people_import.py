"""Benchmark: import one million generated people into SQLite, then page through them.

Run from the repository folder: .venv/bin/python bench/people_import.py [--people 1000000]
It prints one JSON object with the import time, rows per second and peak memory of the process.
It also gives the median time to read page 1 and the last page of the people index.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from citizenry.api.pagination import PageRequest, PageTokens, read_page
from citizenry.api.people_csv import import_people
from citizenry.store import migrate
from citizenry.store.db import Database
from citizenry.store.models import Nation, Person

FIRST = ["Ann", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo", "Kim", "Lu", "Max", "Ned"]
LAST = ["Lee", "Diaz", "Khan", "Ng", "Olsen", "Park", "Quinn", "Ruiz", "Sato", "Tran", "Udo", "Vance"]


def write_csv(path: Path, count: int) -> None:
    rng = random.Random(2026)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["first_name", "last_name", "email", "phone", "is_volunteer", "city", "state", "tags"]
        )
        for i in range(count):
            writer.writerow(
                [
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    f"person{i}@example.org",
                    f"555-{i % 10000:04d}",
                    "true" if i % 5 == 0 else "false",
                    "Springfield",
                    "IL",
                    '["volunteer"]' if i % 7 == 0 else "",
                ]
            )


def median_ms(fn: object, runs: int = 30) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=20)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="citizenry-bench-"))
    csv_path = folder / "people.csv"
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    write_csv(csv_path, args.people)
    migrate.upgrade(url)
    database = Database(url)
    nation_id = database.transaction(lambda s: _nation(s))

    started = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as lines:
        report = database.transaction(lambda s: import_people(s, s.get(Nation, nation_id), lines))
    import_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def page(after_id: int | None) -> None:
        def read(session):  # type: ignore[no-untyped-def]
            tokens = PageTokens("x" * 40, nation_id=nation_id, listing="people")
            query = select(Person).where(Person.nation_id == nation_id)
            read_page(
                session,
                query,
                Person.id,
                PageRequest(limit=args.page_size, after_id=after_id),
                tokens=tokens,
                path="/api/v1/people",
            )

        database.transaction(read)

    ids = database.transaction(
        lambda s: (s.scalar(select(func.min(Person.id))), s.scalar(select(func.max(Person.id))))
    )
    last_page_after = ids[1] - args.page_size
    result = {
        "people": args.people,
        "imported": report.imported,
        "rejected": report.rejected,
        "import_seconds": round(import_seconds, 1),
        "rows_per_second": round(report.imported / import_seconds),
        "peak_memory_mb": round(peak_mb),
        "page_size": args.page_size,
        "page_number_of_last_page": args.people // args.page_size,
        "first_page_ms": median_ms(lambda: page(None)),
        "last_page_ms": median_ms(lambda: page(last_page_after)),
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()}, {platform.processor() or 'unknown cpu'}",
    }
    print(json.dumps(result, indent=2))
    database.dispose()


def _nation(session):  # type: ignore[no-untyped-def]
    nation = Nation(slug="bench", name="Bench", plan="enterprise")
    session.add(nation)
    session.flush()
    return nation.id


if __name__ == "__main__":
    main()
