"""The outbox worker: 10,000 queued SMS sent through the Twilio stand-in by 1, 2 and 4 workers.

    .venv/bin/python -m benchmarks.outbox [--messages 10000] [--workers 1,2,4]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--batch 20]

Each run uses a throwaway PostgreSQL database on that server (dropped afterwards) and a fresh
stand-in (tests/twilio_standin.py) on loopback. Workers are separate processes, released
together once loaded; the clock stops when the last one finds nothing left. Prints messages/s
per worker count, then proves from the stand-in's record and the database that every message
was sent exactly once: none twice, none skipped.
"""

from __future__ import annotations

import argparse
import multiprocessing
import secrets
import sys
import time
from collections import Counter
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.webhook import database
from intake import migrate
from intake.config import Config
from intake.db import make_engine
from intake.messaging.worker import Sender, Worker
from intake.models import Outbox, OutboxKind, OutboxStatus, Report, Reporter
from intake.pipeline.identity import Keyring, parse_address

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from twilio_standin import serve  # noqa: E402

HOTLINE = "+60300000000"  # invented
REPORTERS = 500


def config_for(url: str, api: str, keys: dict[str, Any]) -> Config:
    return Config(
        env="production",
        database_url=url,
        twilio_auth_token="bench-token",  # noqa: S106  (invented; the stand-in checks nothing)
        twilio_account_sid="AC" + "b" * 32,
        public_url="https://hotline.invalid",
        twilio_api_base=api,
        hotline_numbers=(HOTLINE,),
        **keys,
    )


def seed(config: Config, messages: int, tag: str) -> None:
    """`messages` queued replies, spread over REPORTERS invented workers, one report each."""
    keyring = Keyring(config)
    engine = make_engine(config.database_url)
    with Session(engine) as session, session.begin():
        reporters = [
            {
                "pseudonym": secrets.token_hex(32),
                "contact": keyring.encrypt_contact(parse_address(f"+6681{n:07d}")),
                "country": "TH",
            }
            for n in range(REPORTERS)
        ]
        reporter_ids = session.scalars(insert(Reporter).returning(Reporter.id), reporters).all()
        reports = [
            {"code": f"B{tag}{n:05d}"[:12], "reporter_id": rid, "country": "MY"}
            for n, rid in enumerate(reporter_ids)
        ]
        report_ids = session.scalars(insert(Report).returning(Report.id), reports).all()
        session.execute(
            insert(Outbox),
            [
                {
                    "kind": OutboxKind.REPLY,
                    "reporter_id": reporter_ids[n % REPORTERS],
                    "report_id": report_ids[n % REPORTERS],
                    "body": f"Thank you. Question {tag}-{n}: when did this start?",
                    "status": OutboxStatus.QUEUED,
                    "attempts": 0,
                }
                for n in range(messages)
            ],
        )
    engine.dispose()


def work(config: Config, batch: int, ready: Event, go: Event) -> None:
    """One worker process: load, say so, wait for the start, send until nothing is left."""
    engine = make_engine(config.database_url)
    sender = Sender(config, Keyring(config), batch=batch)
    worker = Worker(sessionmaker(engine, expire_on_commit=False), sender.sweeps)
    ready.set()
    go.wait()
    worker.run_once()
    engine.dispose()


def run(server: str, messages: int, workers: int, batch: int, keys: dict[str, Any]) -> float:
    """One measured run; returns messages/s after checking that each was sent exactly once."""
    tag = secrets.token_hex(2)
    standin, http = serve()
    with database(server, "") as url:
        migrate.upgrade(url)
        config = config_for(url, standin.url, keys)
        seed(config, messages, tag)
        context = multiprocessing.get_context("spawn")
        go = context.Event()
        readies = [context.Event() for _ in range(workers)]
        processes = [
            context.Process(target=work, args=(config, batch, ready, go)) for ready in readies
        ]
        for process in processes:
            process.start()
        for ready in readies:
            ready.wait()
        started = time.perf_counter()
        go.set()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
        engine = make_engine(url)
        with Session(engine) as session:
            statuses = dict(
                (status, count)
                for status, count in session.execute(
                    select(Outbox.status, func.count()).group_by(Outbox.status)
                )
            )
            sids = session.scalar(select(func.count(func.distinct(Outbox.twilio_sid))))
        engine.dispose()
    http.shutdown()
    http.server_close()

    bodies = Counter(m["body"] for m in standin.created)
    expected = {f"Thank you. Question {tag}-{n}: when did this start?" for n in range(messages)}
    twice = [body for body, count in bodies.items() if count > 1]
    skipped = expected - set(bodies)
    creates = len(standin.calls("create"))
    print(
        f"  {workers} worker(s): {messages / elapsed:8.1f} messages/s "
        f"({messages} in {elapsed:.2f} s; batch {batch}); "
        f"Twilio creates {creates}, sent twice {len(twice)}, skipped {len(skipped)}, "
        f"outbox {dict((k.value, v) for k, v in statuses.items())}, distinct SIDs {sids}"
    )
    if twice or skipped or creates != messages or statuses != {OutboxStatus.SENT: messages}:
        raise SystemExit("FAILED: a message was sent twice, skipped or left unsent")
    return messages / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server; each run makes (and drops) its own database on it",
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("the outbox benchmark needs PostgreSQL (several workers share the outbox)")
    keys = {
        "secret_key": secrets.token_hex(16),
        "pseudonym_pepper": secrets.token_hex(16),
        "contact_keys": (Fernet.generate_key().decode(),),
        "text_keys": (Fernet.generate_key().decode(),),
    }
    print(f"outbox: {args.messages} queued SMS per run, PostgreSQL, Twilio stand-in on loopback")
    for workers in (int(n) for n in args.workers.split(",")):
        run(args.database_url, args.messages, workers, args.batch, keys)
    print("every run: each message sent exactly once")


if __name__ == "__main__":
    main()
