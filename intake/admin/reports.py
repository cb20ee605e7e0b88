"""The triage queue and the report page, with every action a monitor takes on a report."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from intake import cases, reference, triage
from intake.admin import bp, hotline, labels, refused, settings
from intake.admin.access import EVERYONE, Viewer, roles, viewer
from intake.admin.forms import (
    ActionForm,
    AssignForm,
    AttachForm,
    CaseForm,
    CategoriesForm,
    FactoryForm,
    MergeForm,
    NoteForm,
    ReplyForm,
    StatusForm,
)
from intake.admin.queue import QueueFilters, queue_counts, triage_page
from intake.admin.report_view import ReportDetail, load_report
from intake.db import get_session
from intake.messaging.outbox import BadBody, CannotReach
from intake.models import Partner, ReportStatus
from intake.parsing import ascii_id
from intake.pipeline.analyze import WITHHELD
from intake.pipeline.originals import OriginalGone, OriginalNotAllowed
from intake.pipeline.types import CATEGORY_CODES, DEFAULT_LANGUAGES, Redaction

P = ParamSpec("P")


@bp.route("/")
@roles(*EVERYONE)
def queue() -> str:
    db = get_session()
    person = viewer()
    filters = QueueFilters.from_args(request.args)
    page = triage_page(db, person, filters, request.args.get("after"))
    # A text search is answered from its index; counting its matches per facet would scan
    # (seconds at a million reports), so a search shows its results without counts.
    counts = queue_counts(db, person, filters) if filters.q is None else None
    partners = (
        [(p.id, p.name) for p in db.scalars(select(Partner).order_by(Partner.name))]
        if person.sees_all_partners
        else []
    )
    return render_template(
        "admin/queue.html",
        page=page,
        counts=counts,
        partners=partners,
        partner_counts={pid: count for pid, _, count in counts.partners} if counts else {},
        filters=filters,
        factories=reference.visible_factories(db, person),
        report_languages=DEFAULT_LANGUAGES,
        categories=labels.CATEGORIES,
        statuses=labels.REPORT_STATUS,
    )


@bp.route("/reports/<int:report_id>")
@roles(*EVERYONE)
def report(report_id: int) -> str:
    db = get_session()
    person = viewer()
    detail = load_report(db, person, report_id)
    if detail is None:
        abort(404)
    return render_template(
        "admin/report.html",
        detail=detail,
        forms=_report_forms(db, person, detail),
        categories=labels.CATEGORIES,
        statuses=labels.REPORT_STATUS,
        may_read_original=person.role.value in settings().original_text_roles,
        withheld=WITHHELD,
        delivery=labels.DELIVERY,
    )


def _report_forms(session: Session, person: Viewer, detail: ReportDetail) -> dict[str, object]:
    report = detail
    codes = [category.code for category in detail.categories]
    categories = CategoriesForm(codes=codes)
    categories.codes.choices = labels.choices(labels.CATEGORIES)
    status = StatusForm(status=report.status.value, urgent=report.urgent)
    status.status.choices = labels.choices(labels.REPORT_STATUS)
    factory = FactoryForm(factory_id=str(report.factory_id or ""))
    factory.factory_id.choices = [("", _("Unknown factory"))] + [
        (str(f.id), f"{f.code} · {f.name}") for f in reference.visible_factories(session, person)
    ]
    assign = AssignForm(assignee_id=str(report.assignee_id or ""))
    assign.assignee_id.choices = [("", _("Nobody"))] + [
        (str(u.id), u.name) for u in triage.colleagues(session, report.partner_id)
    ]
    attach = AttachForm()
    attach.case_id.choices = [
        (str(c.id), f"#{c.id} {c.title}")
        for c in cases.cases_for(session, person)
        if c.partner_id == report.partner_id
    ]
    new_case = CaseForm(report_id=str(report.id), category=next(iter(codes), ""))
    new_case.category.choices = [("", "—")] + labels.choices(labels.CATEGORIES)
    return {
        "categories": categories,
        "status": status,
        "factory": factory,
        "assign": assign,
        "note": NoteForm(),
        "reply": ReplyForm(),
        "merge": MergeForm(),
        "attach": attach,
        "case": new_case,
        "action": ActionForm(),
    }


def report_action(view: Callable[P, None]) -> Callable[P, Response]:
    """Run a report action and come back to the report; out-of-reach is a 404."""

    @wraps(view)
    def act(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            # Out of reach is a 404 before the form is even read.
            triage.reachable_report(get_session(), viewer(), int(str(kwargs["report_id"])))
            view(*args, **kwargs)
        except triage.OutOfReach:
            abort(404)
        except (triage.InvalidChange, triage.UnknownCategory) as error:
            refused(error)
        return redirect(url_for("admin.report", report_id=kwargs["report_id"]))

    return act


@bp.route("/reports/<int:report_id>/categories", methods=["POST"])
@roles(*EVERYONE)
@report_action
def report_categories(report_id: int) -> None:
    form = CategoriesForm()
    form.codes.choices = [(code, code) for code in CATEGORY_CODES]
    if form.validate_on_submit():
        triage.set_categories(get_session(), viewer(), report_id, list(form.codes.data or []))
        flash(_("Categories saved. They also teach the classifier."), "info")


@bp.route("/reports/<int:report_id>/status", methods=["POST"])
@roles(*EVERYONE)
@report_action
def report_status(report_id: int) -> None:
    form = StatusForm()
    form.status.choices = labels.choices(labels.REPORT_STATUS)
    if form.validate_on_submit():
        triage.update_report(
            get_session(),
            viewer(),
            report_id,
            status=ReportStatus(form.status.data),
            urgent=bool(form.urgent.data),
        )


@bp.route("/reports/<int:report_id>/factory", methods=["POST"])
@roles(*EVERYONE)
@report_action
def report_factory(report_id: int) -> None:
    form = FactoryForm()
    if form.validate_on_submit():
        value = form.factory_id.data or ""
        triage.set_factory(get_session(), viewer(), report_id, ascii_id(value))


@bp.route("/reports/<int:report_id>/assign", methods=["POST"])
@roles(*EVERYONE)
@report_action
def report_assign(report_id: int) -> None:
    form = AssignForm()
    if form.validate_on_submit():
        value = form.assignee_id.data or ""
        triage.assign(get_session(), viewer(), report_id, ascii_id(value))


@bp.route("/reports/<int:report_id>/notes", methods=["POST"])
@roles(*EVERYONE)
@report_action
def report_note(report_id: int) -> None:
    form = NoteForm()
    if form.validate_on_submit():
        _hidden_notice(triage.add_note(get_session(), viewer(), report_id, form.text.data or ""))


@bp.route("/reports/<int:report_id>/reply", methods=["POST"])
@roles(*EVERYONE)
@report_action
def report_reply(report_id: int) -> None:
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            saved = triage.reply_to_worker(get_session(), viewer(), report_id, form.text.data or "")
        except CannotReach:
            flash(
                _("This worker cannot be reached: they opted out, or their number was deleted."),
                "error",
            )
        except BadBody:
            flash(_("The message is empty or too long for SMS."), "error")
        else:
            flash(
                _("Queued. It is sent from the hotline number; nobody sees the worker's number."),
                "info",
            )
            _hidden_notice(saved)


@bp.route("/reports/<int:report_id>/merge", methods=["POST"])
@roles(*EVERYONE)
@report_action
def report_merge(report_id: int) -> None:
    form = MergeForm()
    if form.validate_on_submit():
        target = triage.merge_into(get_session(), viewer(), report_id, form.code.data or "")
        flash(_("Merged into report %(code)s.", code=target.code), "info")


@bp.route("/reports/<int:report_id>/case", methods=["POST"])
@roles(*EVERYONE)
@report_action
def report_case(report_id: int) -> None:
    form = AttachForm()
    case_id = ascii_id(form.case_id.data)
    if form.validate_on_submit() and case_id is not None:
        cases.attach_report(get_session(), viewer(), report_id, case_id)


@bp.route("/reports/<int:report_id>/messages/<int:message_id>/original", methods=["POST"])
@roles(*EVERYONE)
def report_original(report_id: int, message_id: int) -> str | Response:
    """The original text, shown once on its own page; the view is audited."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        text = triage.show_original(
            get_session(), viewer(), message_id, hotline().keyring, settings(), report_id
        )
    except triage.OutOfReach:
        abort(404)
    except OriginalNotAllowed:
        abort(403)
    except OriginalGone:
        flash(_("The original text is no longer kept; only the redacted text remains."), "info")
        return redirect(url_for("admin.report", report_id=report_id))
    return render_template("admin/original.html", text=text, report_id=report_id)


def _hidden_notice(saved: Redaction) -> None:
    """Tell the monitor what the redaction hid from their own words before they were saved."""
    if saved.counts:
        flash(
            _(
                "Hidden before saving: %(phones)d phone numbers, %(ids)d ID numbers, "
                "%(emails)d e-mail addresses, %(names)d names. Saved as: %(text)s",
                phones=saved.counts.get("PHONE", 0),
                ids=saved.counts.get("ID", 0),
                emails=saved.counts.get("EMAIL", 0),
                names=saved.counts.get("NAME", 0),
                text=saved.text,
            ),
            "info",
        )
