"""Routing rules: which partner gets which reports, and a preview of where a sample would go."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response

from intake import reference
from intake.admin import bp, hotline, labels, refused, settings
from intake.admin.access import ADMINS, STAFF, roles, viewer
from intake.admin.forms import ActionForm, RoutePreviewForm, RoutingRuleForm
from intake.db import get_session
from intake.models import Factory, Partner, Role, RoutingRule
from intake.parsing import ascii_id
from intake.pipeline.route import RouteFacts, RoutePreview, Routes, preview_route
from intake.triage import InvalidChange


@bp.route("/routing", methods=["GET", "POST"])
@roles(*STAFF)
def routing() -> str | Response:
    db = get_session()
    form = _rule_form(db)
    if request.method == "POST":
        if viewer().role is not Role.ADMIN:
            abort(403)
        if form.validate_on_submit() and _add_rule(db, form):
            return redirect(url_for("admin.routing"))
    sample = _preview_form(db)
    preview: RoutePreview | None = None
    if "preview" in request.args and sample.validate():
        preview = preview_route(db, _facts(sample))
    rules = db.scalars(
        select(RoutingRule)
        .options(selectinload(RoutingRule.partner), selectinload(RoutingRule.factory))
        .order_by(RoutingRule.active.desc(), RoutingRule.priority, RoutingRule.id)
    ).all()
    return render_template(
        "admin/routing.html",
        rules=rules,
        form=form,
        sample=sample,
        preview=preview,
        action=ActionForm(),
        categories=labels.CATEGORIES,
    )


@bp.route("/routing/<int:rule_id>/active", methods=["POST"])
@roles(*ADMINS)
def routing_rule_active(rule_id: int) -> Response:
    if ActionForm().validate_on_submit():
        try:
            reference.set_rule_active(
                get_session(), viewer(), rule_id, request.form.get("active") == "1"
            )
        except InvalidChange:
            abort(404)
        _routes().invalidate()
    return redirect(url_for("admin.routing"))


def _add_rule(db: Session, form: RoutingRuleForm) -> bool:
    try:
        reference.add_routing_rule(
            db,
            viewer(),
            partner_id=_int(form.partner_id.data) or 0,
            hotline=form.hotline.data,
            country=form.country.data,
            factory_id=_int(form.factory_id.data),
            language=form.language.data or None,
            category=form.category.data or None,
            priority=form.priority.data if form.priority.data is not None else 100,
        )
    except InvalidChange as error:
        refused(error)
        return False
    # This process routes by the new rule at once; the others within seconds.
    _routes().invalidate()
    flash(_("Saved."), "info")
    return True


def _rule_form(db: Session) -> RoutingRuleForm:
    form = RoutingRuleForm()
    form.partner_id.choices = [("", "—")] + _partners(db)
    form.factory_id.choices = [("", _("any"))] + _factories(db)
    form.language.choices = [("", _("any"))] + _languages()
    form.category.choices = [("", _("any"))] + _categories()
    return form


def _preview_form(db: Session) -> RoutePreviewForm:
    form = RoutePreviewForm(request.args)
    form.factory_id.choices = [("", "—")] + _factories(db)
    form.language.choices = [("", "—")] + _languages()
    form.categories.choices = _categories()
    return form


def _facts(form: RoutePreviewForm) -> RouteFacts:
    return RouteFacts.of(
        hotline=form.hotline.data,
        country=form.country.data,
        factory_id=_int(form.factory_id.data),
        language=form.language.data or None,
        categories=form.categories.data or [],
    )


def _partners(db: Session) -> list[tuple[str, str]]:
    return [(str(p.id), p.name) for p in db.scalars(select(Partner).order_by(Partner.name))]


def _factories(db: Session) -> list[tuple[str, str]]:
    found = db.scalars(select(Factory).order_by(Factory.code))
    return [(str(f.id), f"{f.code} · {f.name}") for f in found]


def _languages() -> list[tuple[str, str]]:
    return [(code, code) for code in settings().languages]


def _categories() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in labels.CATEGORIES.items()]


def _int(value: str | None) -> int | None:
    return ascii_id(value)


def _routes() -> Routes:
    routes: Routes = hotline().routes
    return routes
