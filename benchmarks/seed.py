"""A fast bulk loader of invented, realistic data, for benchmarks on SQLite and PostgreSQL.

    from benchmarks.seed import seed
    seed("sqlite:////tmp/bench.sqlite", 1_000_000)          # migrates, then loads
    seed("postgresql+psycopg://postgres@127.0.0.1/bench", 1_000_000, seed=1)

    .venv/bin/python -m benchmarks.seed URL [--reports N] [--seed S]

`seed(url, n_reports, *, seed=0)` migrates the database at `url` to head, which must hold no
reports yet, and loads, deterministically for a given `seed`:

- 5 partners, 300 factories in 8 countries (each country covered by a partner), 20 buyers
  with 60 contracts over those factories, an admin, a coordinator and one monitor per partner
  (user ids 1, 2, 3..7; their password hashes sign nobody in);
- `n_reports` reports over the 24 months before END, ids in time order, from ~0.6·n reporters
  (pseudonym and contact are random bytes: no phone number anywhere), ~3% urgent, skewed
  taxonomy categories, statuses by age (most older reports closed), ~1% merged duplicates;
- 1-3 messages per report (the worker's invented redacted text in the country's languages, an
  automatic reply, sometimes a second message), ~2% of reports in cases with verifications and
  remedy items, ~1% with a note.

It writes rows in large batches with explicit ids (COPY on PostgreSQL; executemany with
synchronous=OFF on SQLite), then refreshes the planner's statistics. Returns a `Seeded` that
names a few ids benchmarks need.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import make_url

from intake import migrate
from intake.pipeline.codes import ALPHABET, _is_code

END = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
BATCH = 50_000
TRADES = ["Apparel", "Electronics", "Gloves", "Foods"]
# Their secondary indexes and triggers are set aside while loading and rebuilt after it: one
# sorted build is many times faster than a million updates (and an FTS5 'rebuild' likewise).
BIG_TABLES = ("reporter", "report", "report_category", "message")

PARTNERS = [
    "Invented Workers Network",
    "Made-up Garment Watch",
    "Imaginary Migrant Desk",
    "Fictional Electronics Monitor",
    "Placeholder Rights Centre",
]
# Country, hotline languages (most common first), partner index.
COUNTRIES = [
    ("MY", ["ms", "en", "ne", "my"], 0),
    ("TH", ["th", "my", "km"], 1),
    ("VN", ["vi"], 2),
    ("ID", ["id"], 2),
    ("CN", ["zh"], 3),
    ("BD", ["bn", "en"], 4),
    ("KH", ["km"], 1),
    ("MX", ["es"], 4),
]
COUNTRY_WEIGHTS = [22, 18, 14, 12, 12, 10, 6, 6]
# Skewed as real hotlines are: wages and hours dominate, child labour is rare.
CATEGORY_WEIGHTS = {
    "wages": 30, "working_hours": 20, "harsh_treatment": 10, "health_safety": 10,
    "forced_labour": 6, "living_conditions": 6, "employment_terms": 6, "discrimination": 3,
    "freedom_of_association": 3, "retaliation": 3, "child_labour": 1, "other": 2,
}
# Invented worker messages, already redacted; no real worker's words.
TEXTS = {
    "en": ["Overtime is not paid for {n} weeks", "Supervisor shouts at us every day on line {n}",
           "The agent keeps our passports, we owe {n}00 dollars", "No water in the dormitory, "
           "{n} people in one room", "Fire exit locked again near [location]"],
    "ms": ["Gaji tak bayar lagi {n} bulan", "Agent pegang passport kami",
           "Kerja lebih masa tanpa bayaran, {n} jam sehari", "Asrama kotor, {n} orang satu bilik"],
    "ne": ["mero passport company le rakhyo", "talab diyena {n} mahina dekhi",
           "overtime ko paisa diyena, [phone] ma phone garnus"],
    "my": ["လစာမရသေးပါ {n} လ", "အချိန်ပိုလုပ်ခ မပေးပါ"],
    "th": ["หัวหน้าบังคับทำโอทีทุกวัน ไม่จ่ายค่าแรง", "ไม่ได้รับเงินเดือนมา {n} เดือน",
           "นายจ้างยึดพาสปอร์ตของเรา", "ห้องพักแออัด {n} คนต่อห้อง"],
    "km": ["មិនទាន់បានប្រាក់ខែ {n} ខែ", "ធ្វើការថែមម៉ោងមិនបានប្រាក់"],
    "vi": ["Cong ty no luong {n} thang, tang ca moi ngay", "Quan ly chui mang cong nhan",
           "Khong co nuoc sach trong ky tuc xa"],
    "id": ["Kami dipaksa lembur tanpa bayaran di pabrik", "Gaji dipotong {n}0 persen",
           "Paspor kami ditahan agen"],
    "zh": ["公司两个月没发工资，每天加班到晚上{n}点", "主管每天骂人，不让上厕所",
           "宿舍{n}个人一间，没有热水", "中介扣了我们的护照", "车间没有消防通道"],
    "bn": ["{n} মাস ধরে বেতন পাইনি", "ওভারটাইমের টাকা দেয় না"],
    "es": ["Nos obligan a trabajar horas extra sin pago", "No nos pagan desde hace {n} semanas",
           "El supervisor nos grita en la linea {n}"],
}
# A phrase in about one message in two thousand: what a rare search looks for.
RARE = "scaffold collapsed"
REPLIES = {
    "en": "Thank you. Your report code is {code}. Your number is hidden.",
    "zh": "谢谢。您的报告编号是 {code}。您的号码已隐藏。",
    "th": "ขอบคุณ รหัสรายงานของคุณคือ {code} หมายเลขของคุณถูกซ่อน",
}


@dataclass(frozen=True)
class Seeded:
    """What was loaded, for benchmarks: counts and a few ids worth asking for."""

    reports: int
    messages: int
    partner_ids: list[int]
    monitor_ids: list[int]  # monitor_ids[k] belongs to partner_ids[k]
    seconds: float


def seed(url: str, n_reports: int, *, seed: int = 0) -> Seeded:
    """Migrate the empty database at `url` and load `n_reports` invented reports into it."""
    started = time.perf_counter()
    migrate.upgrade(url)
    backend = make_url(url).get_backend_name()
    with _Writer.open(url, backend) as writer:
        writer.set_aside(BIG_TABLES)
        messages = _Generator(random.Random(seed), n_reports, writer).run()
    return Seeded(
        reports=n_reports,
        messages=messages,
        partner_ids=list(range(1, len(PARTNERS) + 1)),
        monitor_ids=list(range(3, 3 + len(PARTNERS))),
        seconds=time.perf_counter() - started,
    )


class _Writer:
    """Batched inserts with explicit ids, then the planner's statistics."""

    def __init__(self, backend: str, connection: Any) -> None:
        self.backend = backend
        self.connection = connection
        self.tables: list[str] = []
        self.aside: list[str] = []

    @classmethod
    def open(cls, url: str, backend: str) -> _Writer:
        parsed = make_url(url)
        if backend == "sqlite":
            connection: Any = sqlite3.connect(parsed.database or "", isolation_level=None)
            for pragma in ("synchronous=OFF", "cache_size=-400000", "temp_store=MEMORY"):
                connection.execute(f"PRAGMA {pragma}")
            connection.execute("BEGIN")
        else:
            dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            connection = psycopg.connect(dsn)
            # Loading only: a crash means loading again, so the WAL flush can wait.
            connection.execute("SET synchronous_commit = off")
            try:
                # The generator keeps every reference valid; skipping the per-row foreign key
                # checks halves the load. Needs a superuser: elsewhere the checks just run.
                connection.execute("SET session_replication_role = replica")
            except psycopg.errors.InsufficientPrivilege:
                connection.rollback()
        return cls(backend, connection)

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is not None:
            self.connection.rollback() if self.backend != "sqlite" else None
            self.connection.close()
            return
        if self.backend == "sqlite":
            for sql in self.aside:
                self.connection.execute(sql)
            if self.connection.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'message_fts'"
            ).fetchone():
                # Inbound texts only, as the migration's triggers keep it.
                self.connection.execute(
                    "INSERT INTO message_fts (rowid, text) "
                    "SELECT id, text FROM message WHERE direction = 'inbound'"
                )
            self.connection.execute("COMMIT")
            self.connection.execute("ANALYZE")
        else:
            for sql in self.aside:
                self.connection.execute(sql)
            self.connection.commit()
            for table in self.tables:
                self.connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            self.connection.commit()
            self.connection.autocommit = True
            # VACUUM sets the visibility map: index-only scans for the queue and its counts.
            self.connection.execute("VACUUM ANALYZE")
        self.connection.close()

    def set_aside(self, tables: Sequence[str]) -> None:
        """Drop the secondary indexes and triggers of `tables`; __exit__ recreates them."""
        if self.backend == "sqlite":
            marks = ", ".join("?" * len(tables))
            found = self.connection.execute(
                f"SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"  # noqa: S608
                f" AND tbl_name IN ({marks}) AND sql IS NOT NULL",
                tables,
            ).fetchall()
        else:
            found = self.connection.execute(
                "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                (list(tables),),
            ).fetchall()
        for kind, name, sql in found:
            self.connection.execute(f'DROP {kind.upper()} "{name}"')
            self.aside.append(sql)

    def ts(self, moment: float) -> str:
        """A timestamp as each database stores UTCDateTime."""
        text = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return text if self.backend == "sqlite" else text + "+00"

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert `rows` in batches; returns how many."""
        if "id" in columns:
            self.tables.append(table)
        names = ", ".join(columns)
        count = 0
        if self.backend == "sqlite":
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
            for batch in _batches(rows, BATCH):
                self.connection.executemany(sql, batch)
                count += len(batch)
            return count
        with self.connection.cursor() as cursor, cursor.copy(
            f"COPY {table} ({names}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count


def _batches(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class _Generator:
    def __init__(self, rng: random.Random, n: int, writer: _Writer) -> None:
        self.rng = rng
        self.n = n
        self.w = writer

    def run(self) -> int:
        rng, w = self.rng, self.w
        now = END.timestamp()
        created = w.ts(now - SPAN.total_seconds())
        w.write("partner", ("id", "name", "countries", "created_at"), [
            (k + 1, name, json.dumps([c for c, _, p in COUNTRIES if p == k]), created)
            for k, name in enumerate(PARTNERS)
        ])
        users = [(1, "admin", None), (2, "coordinator", None)] + [
            (3 + k, "monitor", k + 1) for k in range(len(PARTNERS))
        ]
        w.write("user_account", (
            "id", "email", "name", "password_hash", "role", "partner_id", "locale", "active",
            "failed_logins", "created_at",
        ), [
            (uid, f"{role}{uid}@example.org", f"Invented {role.title()} {uid}", "!", role,
             partner, "en", True, 0, created)
            for uid, role, partner in users
        ])
        self.monitors = {partner: uid for uid, _, partner in users if partner is not None}
        factories = []
        for fid in range(1, 301):
            country = rng.choices(range(len(COUNTRIES)), COUNTRY_WEIGHTS)[0]
            factories.append((fid, country))
        w.write("factory", (
            "id", "code", "name", "aliases", "country", "region", "brands", "suppliers",
            "partner_id", "created_at", "updated_at",
        ), [
            (fid, f"F-{fid:04d}", f"Invented {rng.choice(TRADES)} {fid}",
             json.dumps([f"Plant {fid}"]), COUNTRIES[c][0], None, json.dumps([f"Brand {fid % 40}"]),
             "[]", COUNTRIES[c][2] + 1, created, created)
            for fid, c in factories
        ])
        self._buyers(created)
        messages = self._reports(factories, now)
        return messages

    def _buyers(self, created: str) -> None:
        rng, w = self.rng, self.w
        w.write("buyer", ("id", "name", "country", "created_at"), [
            (k, f"Invented Council {k}", rng.choice(["GB", "NL", "SE", "US"]), created)
            for k in range(1, 21)
        ])
        w.write("contract", ("id", "buyer_id", "reference", "brands", "starts_on", "ends_on"), [
            (k, (k - 1) // 3 + 1, f"C-{k:04d}", json.dumps([f"Brand {k % 40}"]),
             "2025-01-01", "2027-12-31")
            for k in range(1, 61)
        ])
        links = {(k, rng.randint(1, 300)) for k in range(1, 61) for _ in range(5)}
        w.write("contract_factory", ("contract_id", "factory_id"), sorted(links))

    def _reports(self, factories: list[tuple[int, int]], now: float) -> int:
        rng, w, n = self.rng, self.w, self.n
        start = now - SPAN.total_seconds()
        times = sorted(rng.uniform(start, now) for _ in range(n))
        codes = self._codes(n)
        # A few factories get most reports.
        factory_weights = list(itertools.accumulate(1 / (k + 1) ** 0.8 for k in range(300)))
        categories, category_weights = zip(*CATEGORY_WEIGHTS.items(), strict=True)
        cumulative = list(itertools.accumulate(category_weights))
        reports: list[tuple[Any, ...]] = []
        report_categories: list[tuple[Any, ...]] = []
        messages: list[tuple[Any, ...]] = []
        reporters: list[tuple[Any, ...]] = []
        cases: list[tuple[Any, ...]] = []
        notes: list[tuple[Any, ...]] = []
        case_of_factory: dict[int, int] = {}
        reporter_country: list[str] = []
        message_id = itertools.count(1)
        category_id = itertools.count(1)
        day = 86400.0
        for rid in range(1, n + 1):
            at = times[rid - 1]
            age = (now - at) / day
            if reporters and rng.random() < 0.4:
                reporter = rng.randint(max(1, len(reporters) - 5000), len(reporters))
                country = reporter_country[reporter - 1]
            else:
                country_index = rng.choices(range(len(COUNTRIES)), COUNTRY_WEIGHTS)[0]
                country = COUNTRIES[country_index][0]
                reporters.append((
                    len(reporters) + 1, rng.randbytes(32).hex(), rng.randbytes(100), country,
                    None, True, False, w.ts(at), w.ts(at),
                ))
                reporter_country.append(country)
                reporter = len(reporters)
            c = next(k for k, row in enumerate(COUNTRIES) if row[0] == country)
            factory: int | None = None
            if rng.random() < 0.8:
                pick = bisect.bisect(factory_weights, rng.random() * factory_weights[-1])
                factory = factories[min(pick, 299)][0]
            partner: int | None = COUNTRIES[c][2] + 1 if rng.random() > 0.05 else None
            languages = COUNTRIES[c][1]
            language = languages[0] if rng.random() < 0.7 else rng.choice(languages)
            urgent = rng.random() < 0.03
            status = self._status(age)
            merged = None
            if rid > 10 and rng.random() < 0.01:
                merged, status = rng.randint(max(1, rid - 1000), rid - 1), "closed"
            assignee = self.monitors[partner] if partner and status != "new" else None
            case = None
            if factory and partner and rng.random() < 0.02:
                case = case_of_factory.get(factory)
                if case is None or rng.random() < 0.5:
                    case = len(cases) + 1
                    case_of_factory[factory] = case
                    cases.append((case, factory, partner, at))
            last = at + rng.random() * 3 * day
            closed_at = w.ts(at + 30 * day) if status == "closed" else None
            reports.append((
                rid, codes[rid - 1], reporter, status, urgent, language, country, factory,
                partner, w.ts(at), w.ts(min(last, now)), assignee, case, merged, closed_at,
            ))
            first = categories[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
            chosen = [first]
            if rng.random() < 0.3:
                second = categories[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
                if second != first:
                    chosen.append(second)
            for rank, code in enumerate(chosen):
                report_categories.append((
                    next(category_id), rid, code, round(0.9 - rank * 0.3, 2),
                    json.dumps([code.split("_")[0]]), "analysis",
                ))
            text = self._text(language)
            messages.append(self._message(
                next(message_id), "inbound", "report", reporter, rid, text, language, country,
                w.ts(at), None,
            ))
            if rng.random() < 0.5:
                reply = REPLIES.get(language, REPLIES["en"]).format(code=codes[rid - 1])
                messages.append(self._message(
                    next(message_id), "outbound", "auto_reply", reporter, rid, reply, language,
                    None, w.ts(at + 2), "delivered",
                ))
            if rng.random() < 0.3:
                messages.append(self._message(
                    next(message_id), "inbound", "report", reporter, rid, self._text(language),
                    language, country, w.ts(min(last, now)), None,
                ))
            if rng.random() < 0.01:
                notes.append((len(notes) + 1, rid, assignee, "Invented note", w.ts(last)))
        w.write("reporter", (
            "id", "pseudonym", "contact", "country", "language", "consent", "opted_out",
            "created_at", "last_seen_at",
        ), reporters)
        w.write("case_file", (
            "id", "title", "factory_id", "partner_id", "category", "status", "opened_at",
        ), [(cid, f"Invented case {cid}", fid, pid, "wages", "open", w.ts(at))
            for cid, fid, pid, at in cases])
        w.write("report", (
            "id", "code", "reporter_id", "status", "urgent", "language", "country", "factory_id",
            "partner_id", "created_at", "last_message_at", "assignee_id", "case_id",
            "merged_into_id", "closed_at",
        ), reports)
        w.write("report_category", (
            "id", "report_id", "code", "score", "evidence", "source",
        ), report_categories)
        count = w.write("message", (
            "id", "sid", "direction", "kind", "reporter_id", "report_id", "text", "language",
            "language_source", "from_country", "num_media", "redactions", "analysis",
            "created_at", "delivery_status",
        ), messages)
        w.write("note", ("id", "report_id", "author_id", "text", "created_at"), notes)
        self._casework(cases)
        return count

    def _status(self, age_days: float) -> str:
        roll = self.rng.random()
        if age_days > 90:
            return "closed" if roll < 0.85 else "verified" if roll < 0.93 else "triaged"
        if age_days > 30:
            return ("closed" if roll < 0.4 else "verified" if roll < 0.6
                    else "triaged" if roll < 0.9 else "new")
        return "new" if roll < 0.55 else "triaged" if roll < 0.9 else "verified"

    def _codes(self, n: int) -> list[str]:
        seen: set[str] = set()
        codes: list[str] = []
        while len(codes) < n:
            code = "".join(self.rng.choices(ALPHABET, k=6))
            if code not in seen and _is_code(code):
                seen.add(code)
                codes.append(code)
        return codes

    def _text(self, language: str) -> str:
        rng = self.rng
        text = rng.choice(TEXTS.get(language, TEXTS["en"])).format(n=rng.randint(2, 14))
        if rng.random() < 0.3:
            text += " " + rng.choice(TEXTS["en"]).format(n=rng.randint(2, 14))
        if rng.random() < 0.0005:
            text += f" the {RARE} near line {rng.randint(1, 9)}"
        return text

    def _message(
        self, mid: int, direction: str, kind: str, reporter: int, report: int, text: str,
        language: str, country: str | None, at: str, delivery: str | None,
    ) -> tuple[Any, ...]:
        return (mid, f"SM{mid:032x}", direction, kind, reporter, report, text, language,
                "detected", country, 0, "{}", "{}", at, delivery)

    def _casework(self, cases: list[tuple[int, int, int, float]]) -> None:
        rng, w = self.rng, self.w
        verifications = []
        remedies = []
        for cid, _, _, at in cases:
            day = datetime.fromtimestamp(at, UTC).date() + timedelta(days=20)
            if rng.random() < 0.6:
                verifications.append((
                    len(verifications) + 1, cid,
                    rng.choice(["interviews", "documents", "site_visit"]),
                    day.isoformat(), rng.choice(["substantiated", "partly", "inconclusive"]),
                    "Invented verification notes", w.ts(at + 20 * 86400),
                ))
                for k in range(rng.randint(0, 3)):
                    due: date = day + timedelta(days=30 * (k + 1))
                    status = rng.choice(["planned", "in_progress", "done"])
                    remedies.append((
                        len(remedies) + 1, cid, f"Invented remedy step {k + 1}",
                        rng.choice(["factory", "brand", "supplier"]), due.isoformat(), status,
                        "", w.ts(at + 60 * 86400) if status == "done" else None,
                        w.ts(at + 20 * 86400), w.ts(at + 20 * 86400),
                    ))
        w.write("verification", (
            "id", "case_id", "method", "verified_on", "finding", "notes", "created_at",
        ), verifications)
        w.write("remedy_item", (
            "id", "case_id", "action", "responsible", "due_on", "status", "evidence", "done_at",
            "created_at", "updated_at",
        ), remedies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seeded = seed(args.url, args.reports, seed=args.seed)
    print(f"{seeded.reports} reports, {seeded.messages} messages in {seeded.seconds:.1f} s")


if __name__ == "__main__":
    main()
