"""The `intake` command: run the service, migrate, try the hotline, analyse texts."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import make_url
from twilio.request_validator import RequestValidator
from werkzeug.serving import run_simple

from intake import config as config_module
from intake import create_app, migrate
from intake.config import Config, ConfigError, database_url
from intake.db import sessions
from intake.models import Role
from intake.pipeline.identity import parse_address

if TYPE_CHECKING:
    from intake.pipeline.analyze import Analysis


def _development_by_default() -> None:
    # The demo and the SMS simulator are for laptops: throwaway secrets unless told otherwise.
    os.environ.setdefault("INTAKE_ENV", "development")


class IntakeGroup(FlaskGroup):
    """Flask's command group, usable without configuration: help never builds the app, and a
    configuration error is one line naming the setting, not a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Flask would build the app to list its app.cli commands; intake has none, and
        # building it needs configuration that `intake --help` must not.
        return sorted(click.Group.list_commands(self, ctx))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=IntakeGroup, create_app=create_app, add_default_commands=True)
def main() -> None:
    """intake: a worker-voice SMS hotline for labour-rights monitoring."""


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade", with_appcontext=False)
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database (DATABASE_URL) up to REVISION."""
    migrate.upgrade(database_url(), revision)


@db.command("downgrade", with_appcontext=False)
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database (DATABASE_URL) down to REVISION."""
    migrate.downgrade(database_url(), revision)


@main.command(with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Only migrate and seed.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Migrate, seed invented demo data and serve the hotline on this machine."""
    _development_by_default()
    from intake.demo import DEMO_HOTLINE, seed, seed_workspace

    # The log is part of the demo: what was stored, and what the development sender "sent".
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = Config.from_env()
    if config.production:
        raise click.ClickException("the demo seeds invented data: not in production mode")
    migrate.upgrade(config.database_url)
    app = create_app(config)
    hotline = app.extensions["intake.hotline"]
    with app.app_context():
        added = seed(sessions(app)(), hotline)
        accounts = seed_workspace(sessions(app)())
    where = make_url(config.database_url).render_as_string(hide_password=True)
    click.echo(f"demo data ready ({added} new messages) in {where}")
    for email, password in accounts.items():
        # Shown once, for invented demo accounts only; TOTP is enrolled at first sign-in.
        click.echo(f"demo account {email} password {password}")
    if no_serve:
        if hotline.escalator is not None:
            hotline.escalator.drain()  # the seeded urgent report's alert, before exiting
        return
    url = f"http://{host}:{port}"
    click.echo(
        "try it from another terminal:\n"
        f'  {_this_command()} sms "we worked 14 hours and got no overtime pay" '
        f"--from +8613800000001 --to {DEMO_HOTLINE} --url {url}\n"
        f"monitors' pages: {url}/admin/ (sign in with a demo account above, then enrol TOTP)"
    )
    # The outbox (monitors' replies, surveys) and alert retries, as `intake worker` would.
    _outbox_worker(app).start()
    # Flask ignores app.run() inside its own CLI; serve with werkzeug directly.
    run_simple(host, port, app, threaded=True)


def _this_command() -> str:
    """How the user reached this command: `.venv/bin/intake` after the README's run command."""
    invoked = Path(sys.argv[0])
    if invoked.name != "intake":
        return "intake"
    try:
        return str(invoked.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)


def _outbox_worker(app: Flask) -> threading.Thread:
    """The demo's `intake worker`, in a daemon thread of the serving process."""
    from intake.messaging.worker import Worker, outbox_sender

    config: Config = app.config["INTAKE"]
    sender = outbox_sender(config, app.extensions["intake.hotline"].keyring)
    run = Worker(
        sessions(app),
        [*sender.sweeps, *app.extensions.get("intake.sweeps", [])],
        poll=config.worker_poll,
    )
    return threading.Thread(target=run.run, name="intake-demo-outbox", daemon=True)


@main.command(with_appcontext=False)
@click.argument("text")
@click.option("--from", "sender", required=True, help="The worker's number, E.164.")
@click.option("--to", "hotline", default="+60300000000", show_default=True)
@click.option("--url", default=None, help="A running intake; without it, in-process.")
def sms(text: str, sender: str, hotline: str, url: str | None) -> None:
    """Send TEXT to the hotline as Twilio would (correctly signed) and print the reply."""
    _development_by_default()
    config = Config.from_env()
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": config.twilio_account_sid or "AC" + "0" * 32,
        "From": sender,
        "To": hotline,
        "Body": text,
        "NumMedia": "0",
        "FromCountry": parse_address(sender).region or "",
    }
    endpoint = (url or "http://localhost").rstrip("/") + "/sms/inbound"
    signed_for = (config.public_url.rstrip("/") + "/sms/inbound") if config.public_url else endpoint
    signature = RequestValidator(config.twilio_auth_token).compute_signature(signed_for, params)
    if url:
        status, body = _post(endpoint, params, signature)
    else:
        client = create_app(config).test_client()
        response = client.post(
            "/sms/inbound", data=params, headers={"X-Twilio-Signature": signature}
        )
        status, body = response.status_code, response.get_data(as_text=True)
    if status != 200:
        raise click.ClickException(f"HTTP {status}: {body.strip()}")
    # Our own server's TwiML; expat in Python >= 3.11 refuses entity-expansion bombs.
    document = ElementTree.fromstring(body)  # noqa: S314
    replies = [node.text or "" for node in document.iter("Message")]
    click.echo("\n".join(replies) if replies else "(no reply)")


def _post(url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310  (the URL is the operator's own server)
        url,
        data=urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@main.command(with_appcontext=False)
def analyze() -> None:
    """Analyse JSON lines from stdin ({"text", "from"?, "to"?}); write one JSON line each."""
    from intake.pipeline.analyze import Analyzer
    from intake.pipeline.hotline import factories_at

    # Analysis needs no secrets and no database: a fresh install can run it.
    config = Config.from_env(require_secrets=False)
    analyzer = Analyzer(
        languages=config.languages,
        factories=factories_at(config.database_url),
        factory_code_pattern=config.factory_code_pattern,
        model_path=config.model_path or None,
    )
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item: dict[str, Any] = json.loads(line)
            text = str(item["text"])
        except (ValueError, KeyError, TypeError):
            click.echo(json.dumps({"error": f"line {number}: expected a JSON object with text"}))
            continue
        analysis = analyzer.analyze(
            text,
            sender_region=parse_address(str(item.get("from") or "")).region,
            hotline_region=parse_address(str(item.get("to") or "")).region,
        )
        click.echo(json.dumps(analysis.as_json(), ensure_ascii=False))


@main.command()
def reanalyze() -> None:
    """Analyse again every message whose analysis failed when it arrived."""
    from intake.pipeline.reanalyze import reanalyze as run

    app: Flask = current_app
    done, failed = run(sessions(app)(), app.extensions["intake.hotline"])
    click.echo(f"reanalysed {done} messages; {failed} still failing")


@main.command()
def purge() -> None:
    """Delete numbers and original texts no longer needed (run daily; see the README)."""
    from intake.retention import RestTwilioLogs
    from intake.retention import purge as run

    app: Flask = current_app
    config: Config = app.config["INTAKE"]
    twilio = RestTwilioLogs(config) if config.twilio_delete_logs else None
    hotline = app.extensions["intake.hotline"]
    result = run(sessions(app)(), config, hotline.keyring, twilio=twilio)
    click.echo(
        f"purged {result.contacts} contacts and {result.originals} original texts; "
        f"cancelled {result.outbox_cancelled} queued messages"
    )
    if twilio is not None:
        click.echo(
            f"deleted {result.twilio_deleted} messages from Twilio's logs; "
            f"{result.twilio_failed} numbers kept for a retry"
        )


@main.group()
def keys() -> None:
    """Key rotation (see the README's "Keys and retention")."""


@keys.command("rotate-contacts")
def keys_rotate_contacts() -> None:
    """Re-encrypt every stored phone number under the newest INTAKE_CONTACT_KEYS key."""
    from intake.keys import rotate_contacts

    app: Flask = current_app
    done = rotate_contacts(sessions(app)(), app.extensions["intake.hotline"].keyring)
    click.echo(f"re-encrypted {done} contacts under the newest key")


@keys.command("rotate-texts")
def keys_rotate_texts() -> None:
    """Re-encrypt every original text and TOTP secret under the newest INTAKE_TEXT_KEYS key."""
    from intake.keys import rotate_texts

    app: Flask = current_app
    done = rotate_texts(sessions(app)(), app.extensions["intake.hotline"].keyring)
    click.echo(f"re-encrypted {done} texts under the newest key")


@main.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--batch", default=20, show_default=True, help="Rows claimed at a time.")
def worker(once: bool, batch: int) -> None:
    """Send the outbox through Twilio (a Procfile process; several may run on PostgreSQL)."""
    import signal

    from intake.messaging.worker import Worker, outbox_sender

    app: Flask = current_app
    config: Config = app.config["INTAKE"]
    keyring = app.extensions["intake.hotline"].keyring
    sender = outbox_sender(config, keyring, batch=max(1, batch))
    run = Worker(
        sessions(app),
        [*sender.sweeps, *app.extensions.get("intake.sweeps", [])],
        poll=config.worker_poll,
    )
    if once:
        click.echo(f"handled {run.run_once()} outbox rows")
        return
    # SIGTERM (a deploy) ends the loop between messages, never in the middle of one.
    signal.signal(signal.SIGTERM, lambda *_: run.stopping.set())
    run.run()


@main.command()
@click.option("--since", default=60, show_default=True, help="Minutes of Twilio's log to check.")
@click.option(
    "--delete/--no-delete",
    default=None,
    help="Delete stored messages from Twilio (default: INTAKE_TWILIO_DELETE_LOGS).",
)
def reconcile(since: int, delete: bool | None) -> None:
    """Store inbound SMS Twilio has but we lack (run every 10 minutes; see the README)."""
    from datetime import timedelta

    from intake.messaging.reconcile import reconcile as run
    from intake.messaging.twilio_api import Twilio

    app: Flask = current_app
    config: Config = app.config["INTAKE"]
    if not config.twilio_account_sid:
        raise click.ClickException(
            "missing TWILIO_ACCOUNT_SID: reconcile lists the hotline's messages at Twilio"
        )
    done = run(
        sessions(app)(),
        app.extensions["intake.hotline"],
        Twilio(config),
        since=timedelta(minutes=since),
        delete=config.twilio_delete_logs if delete is None else delete,
    )
    click.echo(
        f"listed {done.listed} inbound messages; stored {done.stored} missing ones; "
        f"deleted {done.deleted} from Twilio ({done.delete_failed} failed)"
    )


@main.command("send-alerts")
def send_alerts() -> None:
    """Mail every urgent alert that is due (the worker does this periodically; cron can too)."""
    from intake.mail import Mailer
    from intake.models import utcnow
    from intake.pipeline.escalate import send_pending_alerts

    app: Flask = current_app
    mailer = Mailer.from_config(app.config["INTAKE"])
    if mailer is None:
        raise click.ClickException("INTAKE_SMTP_URL is not set: alerts cannot be mailed")
    with sessions(app)() as session:
        click.echo(f"sent {send_pending_alerts(session, mailer, utcnow())} alert mails")


@main.group()
def user() -> None:
    """Admin accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--partner", "partner_name", default=None, help="The partner a monitor works for.")
@click.password_option(help="Asked for twice when not given; 12 characters or more.")
def user_create(email: str, name: str, role: str, partner_name: str | None, password: str) -> None:
    """Create an account; its owner enrols TOTP two-factor sign-in at the first sign-in."""
    from sqlalchemy import select

    from intake.accounts import AccountError, create_user
    from intake.db import write_transaction
    from intake.models import Partner

    app: Flask = current_app
    session = sessions(app)()
    try:
        with write_transaction(session):
            partner = None
            if partner_name:
                partner = session.scalar(select(Partner).where(Partner.name == partner_name))
                if partner is None:
                    raise AccountError(f"no partner named {partner_name!r}")
            created = create_user(
                session, email=email, name=name, password=password, role=Role(role), partner=partner
            )
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"created account {created.id} ({role}); TOTP is enrolled at first sign-in")


@user.command("set-password")
@click.option("--email", required=True)
@click.password_option(help="Asked for twice when not given; 12 characters or more.")
def user_set_password(email: str, password: str) -> None:
    """Give an account a new password; every session of the account ends."""
    from sqlalchemy import select

    from intake.accounts import AccountError, normalise_email, set_password
    from intake.db import write_transaction
    from intake.models import User

    app: Flask = current_app
    session = sessions(app)()
    try:
        with write_transaction(session):
            found = session.scalar(select(User).where(User.email == normalise_email(email)))
            if found is None:
                raise AccountError("no account with this e-mail")
            set_password(session, found, password, actor_id=None)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"account {found.id}: new password set, its sessions ended")


@main.command("export")
@click.option("--month", required=True, help="The month to export, e.g. 2026-10.")
@click.option("--buyer", default=None, help="Only the factories and brands of this buyer.")
@click.option(
    "--format", "kind", type=click.Choice(["csv", "xlsx", "json"]), default="csv",
    show_default=True,
)
@click.option("--out", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option("--records", is_flag=True, help="Add the record-level table (one row a report).")
@click.option("--text", is_flag=True, help="Add redacted texts to the record-level table.")
@click.option("--no-report", is_flag=True, help="Tables only: no HTML/PDF report or charts.")
@click.option("--no-pdf", is_flag=True, help="The HTML report without its PDF.")
def export_command(
    month: str,
    buyer: str | None,
    kind: str,
    out: str,
    records: bool,
    text: bool,
    no_report: bool,
    no_pdf: bool,
) -> None:
    """Write a month's anonymised counts (and buyer report) with a manifest; see the README."""
    from intake.exports import ExportError, ExportParams, LeakFound, Month, export

    app: Flask = current_app
    config: Config = app.config["INTAKE"]
    with click.progressbar(length=1, label="exporting") as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        try:
            params = ExportParams(
                month=Month.parse(month),
                out_dir=Path(out),
                buyer=buyer,
                format=kind,
                records=records,
                text=text,
                report=not no_report,
                pdf=not no_pdf,
                k=config.export_k,
            )
            result = export(sessions(app)(), params, progress)
        except (ExportError, LeakFound) as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"wrote {result.folder}")
    for name in result.files:
        click.echo(f"  {name}")
    for note in result.notes:
        click.echo(note)


@main.group()
def model() -> None:
    """The category classifier that learns from monitors' corrections."""


@model.command("train", with_appcontext=False)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Model file to write.")
@click.option("--seed", default=0, show_default=True)
def model_train(out: str | None, seed: int) -> None:
    """Fit on monitors' labels and lexicon seeds; print held-out precision and recall; save."""
    from intake.pipeline.learning import labelled_examples
    from intake.pipeline.model import evaluate_model, format_model_report, seed_examples, split
    from intake.pipeline.model import train as fit

    config = Config.from_env(require_secrets=False)
    labels = labelled_examples(config.database_url)
    seeds = seed_examples()
    click.echo(f"examples: {len(labels)} monitor labels, {len(seeds)} lexicon seeds")
    training, held_out = split([*labels, *seeds], seed=seed)
    click.echo(f"held-out evaluation ({len(held_out)} examples, model trained on the rest):")
    click.echo(format_model_report(evaluate_model(fit(training, seed=seed), held_out)))
    # The saved model learns from every example; the figures above are its honest estimate.
    path = Path(out or config.model_path or config_module.INSTANCE_DIR / "category-model.npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    fit([*labels, *seeds], seed=seed).save(path)
    click.echo(f"saved {path}; set INTAKE_MODEL_PATH={path} to use it")


@model.command("evaluate", with_appcontext=False)
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None)
@click.option(
    "--set",
    "which",
    type=click.Choice(["development", "holdout", "holdout2"]),
    default="development",
    show_default=True,
    help="development: the set rules were tuned on; holdout, holdout2: each written blind.",
)
def model_evaluate(model_path: str | None, which: str) -> None:
    """Run the whole analysis on a labelled evaluation set and print its figures."""
    from intake.pipeline.analyze import Analyzer
    from intake.pipeline.evaluate import (
        EVALUATION_DIR,
        HOLDOUT2_DIR,
        HOLDOUT_DIR,
        evaluate,
        format_report,
        load_evaluation_set,
    )

    config = Config.from_env(require_secrets=False)
    analyzer = Analyzer(
        languages=config.languages,
        factory_code_pattern=config.factory_code_pattern,
        model_path=model_path or config.model_path or None,
    )

    def analyze_one(text: str, sender: str, hotline: str) -> Analysis:
        return analyzer.analyze(
            text,
            sender_region=parse_address(sender or "").region,
            hotline_region=parse_address(hotline or "").region,
        )

    folders = {"holdout": HOLDOUT_DIR, "holdout2": HOLDOUT2_DIR}
    folder = folders.get(which, EVALUATION_DIR)
    items = load_evaluation_set(folder, languages=config.languages)
    click.echo(f"{which} set: {len(items)} messages; model: {model_path or 'none'}")
    click.echo(format_report(evaluate(analyze_one, items)))


@main.command("check-config")
@with_appcontext
def check_config() -> None:
    """Validate the configuration and say which secrets were generated."""
    app: Flask = current_app
    config: Config = app.config["INTAKE"]
    click.echo(f"mode: {config.env}; database: {config.database_url.split(':', 1)[0]}")
    if config.generated:
        click.echo("generated (development only): " + ", ".join(config.generated))


if __name__ == "__main__":
    main()
