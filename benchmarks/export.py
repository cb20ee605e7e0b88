"""Benchmark: export 1,000,000 reports of one month (aggregates, record table, buyer report).

    .venv/bin/python -m benchmarks.export [--reports N] [--database sqlite|postgresql|both]

Loads invented data into a throwaway database (a temporary SQLite file; a PostgreSQL database
created for the run and dropped after it), then runs `intake.exports.export` in a fresh child
process and prints its wall time and peak memory (the child's own maximum RSS, so the
loader's memory does not count). Target: under 60 s and under 300 MB.

The loader writes rows straight through the driver (executemany on SQLite, COPY on
PostgreSQL) with explicit ids: the ORM would take longer than the export it prepares.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, make_url, text

from intake import migrate
from intake.pipeline.types import CATEGORY_CODES

MONTH = (2026, 10)
EARLIER_PER_MONTH = 5_000
FACTORIES = 300
COUNTRIES = {
    "TH": ("th", "my", "km"),
    "MY": ("ms", "ne", "bn", "id"),
    "VN": ("vi",),
    "KH": ("km",),
    "BD": ("bn",),
    "CN": ("zh",),
}
BRANDS = ("Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adventure")
STATUSES = ("new", "triaged", "verified", "closed")
BATCH = 50_000
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def rows(n_reports: int, seed: int) -> dict[str, Iterator[Sequence[Any]]]:
    """Every table's rows, generated lazily (a million reports never sit in memory)."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 2, tzinfo=UTC)
    countries = list(COUNTRIES)
    factories = [
        (
            index,
            f"BN-{index:04d}",
            f"Invented Factory {index}",
            "[]",
            countries[index % len(countries)],
            json.dumps(rng.sample(BRANDS, 2)),
            "[]",
            now,
            now,
        )
        for index in range(1, FACTORIES + 1)
    ]
    # Category popularity is skewed, as in life: wages and hours dominate.
    weights = [1 / (rank + 1) for rank in range(len(CATEGORY_CODES))]

    def month_start(back: int) -> datetime:
        year, month = MONTH[0], MONTH[1] - back
        while month < 1:
            year, month = year - 1, month + 12
        return datetime(year, month, 1, tzinfo=UTC)

    plan = [(0, n_reports)] + [(back, EARLIER_PER_MONTH) for back in range(1, 12)]
    total = sum(count for _, count in plan)
    reporters = max(1, int(total * 0.6))

    def reporter_rows() -> Iterator[Sequence[Any]]:
        for index in range(1, reporters + 1):
            yield (index, secrets.token_hex(16), None, "TH", "th", True, False, now, now)

    report_info: list[tuple[int, int, datetime]] = []

    def report_rows() -> Iterator[Sequence[Any]]:
        report_id = 0
        for back, count in plan:
            first = month_start(back)
            seconds = int((month_start(back - 1) - first).total_seconds()) if back else 31 * 86400
            for _ in range(count):
                report_id += 1
                factory = rng.randrange(1, FACTORIES + 1)
                country = countries[factory % len(countries)]
                created = first + timedelta(seconds=rng.randrange(seconds))
                if report_id % 50 == 0:
                    report_info.append((report_id, factory, created))
                yield (
                    report_id,
                    f"B{report_id:09d}",
                    rng.randrange(1, reporters + 1),
                    rng.choice(STATUSES),
                    rng.random() < 0.03,
                    rng.choice(COUNTRIES[country]),
                    country,
                    factory,
                    created,
                    created,
                )

    def category_rows() -> Iterator[Sequence[Any]]:
        category_id = 0
        for report_id in range(1, total + 1):
            picked = rng.choices(CATEGORY_CODES, weights, k=1 if rng.random() < 0.7 else 2)
            for code in sorted(set(picked)):
                category_id += 1
                yield (category_id, report_id, code, 1.0, "[]", "analysis")

    def case_rows() -> Iterator[Sequence[Any]]:
        for case_id, (_, factory, created) in enumerate(report_info, start=1):
            yield (case_id, "Invented case", factory, rng.choice(CATEGORY_CODES), "open", created)

    def remedy_rows() -> Iterator[Sequence[Any]]:
        for case_id, (_, _, created) in enumerate(report_info, start=1):
            due = (created + timedelta(days=rng.randrange(5, 60))).date()
            done = rng.random() < 0.5
            yield (
                case_id, case_id, "Invented remedy step", "factory",
                "done" if done else "planned", due,
                created + timedelta(days=3) if done else None, "", created, created,
            )

    def checkback_rows() -> Iterator[Sequence[Any]]:
        for case_id, (_, _, created) in enumerate(report_info, start=1):
            answered = created + timedelta(days=4)
            yield (case_id, case_id, rng.randrange(1, reporters + 1), created, "yes", answered)

    return {
        "factory (id, code, name, aliases, country, brands, suppliers, created_at, updated_at)":
            iter(factories),
        "reporter (id, pseudonym, contact, country, language, consent, opted_out, created_at, "
        "last_seen_at)": reporter_rows(),
        "report (id, code, reporter_id, status, urgent, language, country, factory_id, "
        "created_at, last_message_at)": report_rows(),
        "report_category (id, report_id, code, score, evidence, source)": category_rows(),
        "case_file (id, title, factory_id, category, status, opened_at)": case_rows(),
        "remedy_item (id, case_id, action, responsible, status, due_on, done_at, evidence, "
        "created_at, updated_at)": remedy_rows(),
        "check_back (id, case_id, reporter_id, asked_at, answer, answered_at)": checkback_rows(),
        "buyer (id, name, country, created_at)": iter(
            [(1, "Invented County Council", "GB", now), (2, "Invented Hospital Trust", "GB", now)]
        ),
        "contract (id, buyer_id, reference, brands)": iter(
            [(1, 1, "IC-1", json.dumps(["Northwind"])), (2, 2, "IH-1", "[]")]
        ),
        "contract_factory (contract_id, factory_id)": iter(
            [(2, factory) for factory in range(1, FACTORIES + 1, 7)]
        ),
    }


def _batches(source: Iterator[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    batch: list[Sequence[Any]] = []
    for row in source:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's own SQLite storage format for DateTime and Date.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def load(url: str, n_reports: int, seed: int) -> int:
    """Migrate `url` and fill it; returns the number of report rows."""
    migrate.upgrade(url)
    tables = rows(n_reports, seed)
    if url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(url).database or "")
        connection.execute("PRAGMA synchronous=OFF")
        for target, source in tables.items():
            width = target.count(",") + 1
            # Table and column names are this file's own constants, never input.
            statement = f"INSERT INTO {target} VALUES ({', '.join('?' * width)})"  # noqa: S608
            for batch in _batches(source):
                connection.executemany(
                    statement, [tuple(_sqlite_value(v) for v in row) for row in batch]
                )
            connection.commit()
        connection.execute("ANALYZE")
        connection.commit()
        connection.close()
    else:
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain) as connection:
            for target, source in tables.items():
                copying = f"COPY {target} FROM STDIN"
                with connection.cursor() as cursor, cursor.copy(copying) as copy:
                    for row in source:
                        copy.write_row(row)
            connection.execute("ANALYZE")
    return n_reports + 11 * EARLIER_PER_MONTH


def run_export(url: str, out: str, kind: str) -> None:
    """In the child: one export, then its time and this process's peak RSS as JSON."""
    from sqlalchemy.orm import Session

    from intake.db import make_engine
    from intake.exports import ExportParams, Month, export

    engine = make_engine(url, timeout=600)
    started = time.perf_counter()
    with Session(engine) as session:
        result = export(
            session,
            ExportParams(month=Month(*MONTH), out_dir=Path(out), format=kind, records=True,
                         today=date(2026, 11, 2)),
        )
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        "record_counts": result.record_counts,
        "files": sorted(result.files),
    }))


def bench(url: str, label: str, n_reports: int, kind: str) -> None:
    started = time.perf_counter()
    loaded = load(url, n_reports, seed=1)
    print(f"{label}: loaded {loaded:,} reports in {time.perf_counter() - started:.1f} s",
          flush=True)
    with tempfile.TemporaryDirectory(dir="/tmp") as out:
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.export", "--child", url, "--out", out,
             "--format", kind],
            check=True, capture_output=True, text=True,
        )
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        sizes = sum(path.stat().st_size for path in Path(out).rglob("*") if path.is_file())
    print(
        f"{label}: export of {n_reports:,} reports ({kind}): {measured['seconds']} s, "
        f"peak RSS {measured['peak_rss_mb']} MB, {sizes / 1e6:.0f} MB written; "
        f"record table {measured['record_counts']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--format", default="csv", choices=["csv", "xlsx", "json"])
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_export(args.child, args.out, args.format)
        return
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(dir="/tmp") as folder:
            bench(f"sqlite:///{folder}/bench.sqlite", "SQLite", args.reports, args.format)
    if args.database in ("postgresql", "both"):
        name = f"intake_bench_export_{secrets.token_hex(4)}"
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
            bench(url, "PostgreSQL", args.reports, args.format)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
