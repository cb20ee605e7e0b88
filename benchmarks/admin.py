"""Server time of the triage queue and the report page with a million reports.

    .venv/bin/python -m benchmarks.admin [--reports 1000000] [--runs 50]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--no-sqlite]

Seeds a throwaway SQLite file and a throwaway PostgreSQL database (created on the given
server and dropped at the end) with benchmarks.seed, then times, on each, the query layer the
admin views call (intake.admin.queue, intake.admin.report_view) on an engine configured as the
app configures it: the queue's first page, a monitor's filtered page (their partner, a
category, a country), page 20 of the keyset, text searches, the facet counts and a report
page. Prints median and p95 over `runs` runs and their ratio to the 100 ms target.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.orm import Session

from benchmarks.seed import RARE, Seeded, seed
from intake.admin.queue import QueueFilters, Viewer, queue_counts, triage_page
from intake.admin.report_view import load_report
from intake.db import make_engine
from intake.models import Report, Role

TARGET_MS = 100.0
ADMIN = Viewer(user_id=1, role=Role.ADMIN)


def cases(session: Session, seeded: Seeded) -> list[tuple[str, Callable[[], Any]]]:
    """What a monitor does most, each as a callable that runs the view's queries."""
    monitor = Viewer(seeded.monitor_ids[0], Role.MONITOR, seeded.partner_ids[0])
    narrowed = QueueFilters(category="working_hours", country="MY")
    cursor = None
    for _ in range(19):
        cursor = triage_page(session, ADMIN, QueueFilters(), cursor).next_cursor
    largest = session.scalar(select(func.max(Report.id))) or 1
    rng = random.Random(1)

    def report_page() -> Any:
        return load_report(session, ADMIN, rng.randint(1, largest))

    return [
        ("queue, first page", lambda: triage_page(session, ADMIN, QueueFilters())),
        ("queue, monitor+category+country", lambda: triage_page(session, monitor, narrowed)),
        ("queue, page 20 (keyset)", lambda: triage_page(session, ADMIN, QueueFilters(), cursor)),
        ("search '没发工资' (common)", lambda: triage_page(
            session, ADMIN, QueueFilters(q="没发工资"))),
        (f"search '{RARE}' (rare)", lambda: triage_page(session, ADMIN, QueueFilters(q=RARE))),
        ("search '护照' (2 chars)", lambda: triage_page(session, ADMIN, QueueFilters(q="护照"))),
        ("facet counts, admin", lambda: queue_counts(session, ADMIN, QueueFilters())),
        ("facet counts, monitor filtered", lambda: queue_counts(session, monitor, narrowed)),
        ("report page", report_page),
    ]


def measure(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median and p95 in milliseconds, after three warm-up calls."""
    for _ in range(3):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * len(times)) - 1)]


def bench(label: str, url: str, reports: int, runs: int) -> list[tuple[str, str, float, float]]:
    seeded = seed(url, reports)
    print(f"{label}: seeded {seeded.reports:,} reports, {seeded.messages:,} messages "
          f"in {seeded.seconds:.0f} s", flush=True)
    engine = make_engine(url)
    results = []
    try:
        with Session(engine) as session:
            for name, call in cases(session, seeded):
                median, p95 = measure(call, runs)
                results.append((label, name, median, p95))
                print(f"  {name:34} median {median:8.1f} ms   p95 {p95:8.1f} ms", flush=True)
                session.rollback()
    finally:
        engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a server to create the throwaway database on ('' to skip)",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()

    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="intake-bench-") as directory:
            url = f"sqlite:///{Path(directory) / 'admin.sqlite'}"
            results += bench("SQLite", url, args.reports, args.runs)
    if args.postgres:
        server = make_url(args.postgres)
        name = f"intake_bench_admin_{secrets.token_hex(4)}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            results += bench("PostgreSQL", url, args.reports, args.runs)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    print(f"\n{args.reports:,} reports, {args.runs} runs each; target: median < {TARGET_MS:.0f} ms")
    print(f"| database | case | median ms | p95 ms | median / target |\n|---|---|---:|---:|---:|")
    for label, name, median, p95 in results:
        print(f"| {label} | {name} | {median:.1f} | {p95:.1f} | {median / TARGET_MS:.2f} |")


if __name__ == "__main__":
    main()
