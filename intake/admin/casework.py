"""Cases: the list, a case with its verification, remedy plan and timeline, persistent issues."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from intake import cases, triage
from intake.admin import bp, labels, refused, settings
from intake.admin.access import EVERYONE, roles, viewer
from intake.admin.forms import (
    ActionForm,
    CaseForm,
    RemedyForm,
    RemedyUpdateForm,
    VerificationForm,
)
from intake.db import get_session
from intake.models import Finding, RemedyStatus, Responsible, VerificationMethod, utcnow
from intake.parsing import ascii_id
from intake.remedy.checkback import case_confirmations

P = ParamSpec("P")


@bp.route("/cases")
@roles(*EVERYONE)
def case_list() -> str:
    db = get_session()
    found = cases.cases_for(db, viewer())
    today = utcnow().date()
    return render_template(
        "admin/cases.html",
        cases=found,
        overdue={case.id: len(cases.overdue_items(case, today)) for case in found},
        statuses=labels.CASE_STATUS,
        categories=labels.CATEGORIES,
    )


@bp.route("/cases/new", methods=["POST"])
@roles(*EVERYONE)
def case_new() -> Response:
    form = CaseForm()
    form.category.choices = [("", "—")] + labels.choices(labels.CATEGORIES)
    report_id = ascii_id(form.report_id.data) or 0
    if not form.validate_on_submit():
        flash(_("A case needs a title."), "error")
        return redirect(url_for("admin.report", report_id=report_id))
    try:
        case = cases.open_case(
            get_session(),
            viewer(),
            report_id,
            title=form.title.data or "",
            category=form.category.data or None,
        )
    except triage.OutOfReach:
        abort(404)
    return redirect(url_for("admin.case", case_id=case.id))


@bp.route("/cases/<int:case_id>")
@roles(*EVERYONE)
def case(case_id: int) -> str:
    db = get_session()
    try:
        found = cases.reachable_case(db, viewer(), case_id)
    except triage.OutOfReach:
        abort(404)
    verification = VerificationForm(verified_on=utcnow().date())
    verification.method.choices = labels.choices(labels.METHODS)
    verification.finding.choices = labels.choices(labels.FINDINGS)
    remedy = RemedyForm()
    remedy.responsible.choices = labels.choices(labels.RESPONSIBLE)
    updates = {}
    for item in found.remedies:
        form = RemedyUpdateForm(prefix=f"item{item.id}", status=item.status.value)
        form.status.choices = labels.choices(labels.REMEDY_STATUS)
        form.evidence.data = item.evidence
        updates[item.id] = form
    return render_template(
        "admin/case.html",
        case=found,
        timeline=cases.timeline(db, found),
        confirmations=case_confirmations(db, found),
        verification=verification,
        remedy=remedy,
        updates=updates,
        close=ActionForm(),
        today=utcnow().date(),
        labels=labels,
    )


def case_action(view: Callable[P, None]) -> Callable[P, Response]:
    """Run a case action and come back to the case; out-of-reach is a 404."""

    @wraps(view)
    def act(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            # Out of reach is a 404 before the form is even read.
            cases.reachable_case(get_session(), viewer(), int(str(kwargs["case_id"])))
            view(*args, **kwargs)
        except triage.OutOfReach:
            abort(404)
        except triage.InvalidChange as error:
            refused(error)
        return redirect(url_for("admin.case", case_id=kwargs["case_id"]))

    return act


@bp.route("/cases/<int:case_id>/verifications", methods=["POST"])
@roles(*EVERYONE)
@case_action
def case_verification(case_id: int) -> None:
    form = VerificationForm()
    form.method.choices = labels.choices(labels.METHODS)
    form.finding.choices = labels.choices(labels.FINDINGS)
    if form.validate_on_submit() and form.verified_on.data is not None:
        cases.add_verification(
            get_session(),
            viewer(),
            case_id,
            method=VerificationMethod(form.method.data),
            verified_on=form.verified_on.data,
            finding=Finding(form.finding.data),
            notes=form.notes.data or "",
        )
    else:
        flash(_("Please give the method, the date and the finding."), "error")


@bp.route("/cases/<int:case_id>/remedies", methods=["POST"])
@roles(*EVERYONE)
@case_action
def case_remedy(case_id: int) -> None:
    form = RemedyForm()
    form.responsible.choices = labels.choices(labels.RESPONSIBLE)
    if form.validate_on_submit():
        cases.add_remedy(
            get_session(),
            viewer(),
            case_id,
            action=form.action.data or "",
            responsible=Responsible(form.responsible.data),
            due_on=form.due_on.data,
        )
    else:
        flash(_("Please say what must be done and who is responsible."), "error")


@bp.route("/cases/<int:case_id>/remedies/<int:item_id>", methods=["POST"])
@roles(*EVERYONE)
@case_action
def case_remedy_update(case_id: int, item_id: int) -> None:
    form = RemedyUpdateForm(prefix=f"item{item_id}")
    form.status.choices = labels.choices(labels.REMEDY_STATUS)
    if form.validate_on_submit():
        cases.update_remedy(
            get_session(),
            viewer(),
            item_id,
            status=RemedyStatus(form.status.data),
            evidence=form.evidence.data or "",
            config=settings(),
            case_id=case_id,
        )


@bp.route("/cases/<int:case_id>/close", methods=["POST"])
@roles(*EVERYONE)
@case_action
def case_close(case_id: int) -> None:
    if ActionForm().validate_on_submit():
        cases.close_case(get_session(), viewer(), case_id)


@bp.route("/persistent")
@roles(*EVERYONE)
def persistent() -> str:
    issues = cases.persistent_issues(get_session(), viewer())
    return render_template("admin/persistent.html", issues=issues, categories=labels.CATEGORIES)
