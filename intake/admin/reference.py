"""Reference data pages (factories, partners, buyers), accounts, and the audit log."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response

from intake import accounts, reference
from intake.admin import bp, hotline, labels, refused
from intake.admin.access import ADMINS, EVERYONE, STAFF, roles, viewer
from intake.admin.forms import (
    ActionForm,
    BuyerForm,
    ContactForm,
    ContractForm,
    FactoryEditForm,
    PartnerForm,
    UserForm,
)
from intake.admin.params import arg_id, arg_text
from intake.db import get_session, write_transaction
from intake.models import AuditEvent, Buyer, Contract, Factory, Partner, Role, User
from intake.parsing import ascii_id
from intake.triage import InvalidChange

AUDIT_PAGE = 100


@bp.route("/factories", methods=["GET", "POST"])
@roles(*EVERYONE)
def factories() -> str | Response:
    db = get_session()
    person = viewer()
    form = _factory_form(db)
    if request.method == "POST":
        if person.role is not Role.ADMIN:
            abort(403)
        if form.validate_on_submit() and _save_factory(db, form, None):
            return redirect(url_for("admin.factories"))
    return render_template(
        "admin/factories.html", factories=reference.visible_factories(db, person), form=form
    )


@bp.route("/factories/<int:factory_id>", methods=["GET", "POST"])
@roles(*ADMINS)
def factory(factory_id: int) -> str | Response:
    db = get_session()
    found = db.get(Factory, factory_id)
    if found is None:
        abort(404)
    form = _factory_form(db, found)
    if form.validate_on_submit() and _save_factory(db, form, factory_id):
        return redirect(url_for("admin.factories"))
    return render_template("admin/factory.html", factory=found, form=form)


def _factory_form(db: Session, factory: Factory | None = None) -> FactoryEditForm:
    form = FactoryEditForm()
    if factory is not None and request.method == "GET":
        form.code.data, form.name.data = factory.code, factory.name
        form.aliases.data = "\n".join(factory.aliases or [])
        form.country.data, form.region.data = factory.country, factory.region
        form.brands.data = "\n".join(factory.brands or [])
        form.suppliers.data = "\n".join(factory.suppliers or [])
        form.partner_id.data = str(factory.partner_id or "")
    form.partner_id.choices = [("", "—")] + [
        (str(p.id), p.name) for p in db.scalars(select(Partner).order_by(Partner.name))
    ]
    return form


def _save_factory(db: Session, form: FactoryEditForm, factory_id: int | None) -> bool:
    try:
        reference.save_factory(
            db,
            viewer(),
            factory_id,
            code=form.code.data or "",
            name=form.name.data or "",
            aliases=reference.split_list(form.aliases.data or ""),
            country=form.country.data,
            region=form.region.data,
            brands=reference.split_list(form.brands.data or ""),
            suppliers=reference.split_list(form.suppliers.data or ""),
            partner_id=ascii_id(form.partner_id.data),
        )
    except InvalidChange as error:
        refused(error)
        return False
    flash(_("Saved."), "info")
    return True


@bp.route("/partners", methods=["GET", "POST"])
@roles(*STAFF)
def partners() -> str | Response:
    db = get_session()
    form = PartnerForm()
    if request.method == "POST":
        if viewer().role is not Role.ADMIN:
            abort(403)
        if form.validate_on_submit():
            try:
                reference.add_partner(
                    db,
                    viewer(),
                    form.name.data or "",
                    reference.split_list(form.countries.data or ""),
                )
            except InvalidChange as error:
                refused(error)
            return redirect(url_for("admin.partners"))
    found = db.scalars(
        select(Partner).options(selectinload(Partner.contacts)).order_by(Partner.name)
    ).all()
    return render_template(
        "admin/partners.html", partners=found, form=form, contact=ContactForm(), action=ActionForm()
    )


@bp.route("/partners/<int:partner_id>/contacts", methods=["POST"])
@roles(*ADMINS)
def partner_contact(partner_id: int) -> Response:
    form = ContactForm()
    if form.validate_on_submit():
        try:
            reference.add_contact(
                get_session(),
                viewer(),
                hotline().keyring,
                partner_id,
                name=form.name.data or "",
                email=form.email.data,
                phone=form.phone.data,
            )
        except InvalidChange as error:
            refused(error)
    else:
        flash(_("Please check the contact's name and e-mail."), "error")
    return redirect(url_for("admin.partners"))


@bp.route("/contacts/<int:contact_id>/on-call", methods=["POST"])
@roles(*ADMINS)
def contact_on_call(contact_id: int) -> Response:
    if ActionForm().validate_on_submit():
        try:
            reference.set_on_call(
                get_session(), viewer(), contact_id, request.form.get("on_call") == "1"
            )
        except InvalidChange:
            abort(404)
    return redirect(url_for("admin.partners"))


@bp.route("/buyers", methods=["GET", "POST"])
@roles(*STAFF)
def buyers() -> str | Response:
    db = get_session()
    form = BuyerForm()
    if request.method == "POST":
        if viewer().role is not Role.ADMIN:
            abort(403)
        if form.validate_on_submit():
            try:
                reference.add_buyer(db, viewer(), form.name.data or "", form.country.data)
            except InvalidChange as error:
                refused(error)
            return redirect(url_for("admin.buyers"))
    found = db.scalars(
        select(Buyer)
        .options(selectinload(Buyer.contracts).selectinload(Contract.factories))
        .order_by(Buyer.name)
    ).all()
    return render_template(
        "admin/buyers.html", buyers=found, form=form, contract=_contract_form(db)
    )


@bp.route("/buyers/<int:buyer_id>/contracts", methods=["POST"])
@roles(*ADMINS)
def buyer_contract(buyer_id: int) -> Response:
    db = get_session()
    form = _contract_form(db)
    if form.validate_on_submit():
        try:
            reference.add_contract(
                db,
                viewer(),
                buyer_id,
                reference=form.reference.data or "",
                brands=reference.split_list(form.brands.data or ""),
                factory_ids=[i for i in map(ascii_id, form.factory_ids.data or []) if i],
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
            )
        except InvalidChange as error:
            refused(error)
    else:
        flash(_("Please check the contract's fields."), "error")
    return redirect(url_for("admin.buyers"))


def _contract_form(db: Session) -> ContractForm:
    form = ContractForm()
    form.factory_ids.choices = [
        (str(f.id), f"{f.code} · {f.name}")
        for f in db.scalars(select(Factory).order_by(Factory.code))
    ]
    return form


@bp.route("/users", methods=["GET", "POST"])
@roles(*ADMINS)
def users() -> str | Response:
    db = get_session()
    form = UserForm()
    form.role.choices = labels.choices(labels.ROLES)
    form.partner_id.choices = [("", "—")] + [
        (str(p.id), p.name) for p in db.scalars(select(Partner).order_by(Partner.name))
    ]
    if form.validate_on_submit():
        partner_id = form.partner_id.data or ""
        try:
            with write_transaction(db):
                partner = db.get(Partner, number) if (number := ascii_id(partner_id)) else None
                accounts.create_user(
                    db,
                    email=form.email.data or "",
                    name=form.name.data or "",
                    password=form.password.data or "",
                    role=Role(form.role.data),
                    partner=partner,
                    actor_id=viewer().user_id,
                )
        except accounts.AccountError as error:
            refused(error)
        else:
            flash(
                _("Account created. Its owner enrols two-factor sign-in at first sign-in."), "info"
            )
            return redirect(url_for("admin.users"))
    found = db.scalars(select(User).options(selectinload(User.partner)).order_by(User.name)).all()
    return render_template(
        "admin/users.html", users=found, form=form, roles=labels.ROLES, action=ActionForm()
    )


@bp.route("/audit")
@roles(*ADMINS)
def audit_log() -> str:
    db = get_session()
    before = arg_id("before")
    query = (
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .order_by(AuditEvent.id.desc())
        .limit(AUDIT_PAGE)
    )
    if before is not None:
        query = query.where(AuditEvent.id < before)
    action = arg_text("action")
    if action:
        query = query.where(AuditEvent.action == action)
    events = db.execute(query).all()
    older = events[-1][0].id if len(events) == AUDIT_PAGE else None
    return render_template("admin/audit.html", events=events, older=older, action=action)


@bp.route("/users/<int:user_id>/<any(deactivate, activate, reset):change>", methods=["POST"])
@roles(*ADMINS)
def user_change(user_id: int, change: str) -> Response:
    db = get_session()
    if not ActionForm().validate_on_submit():
        abort(400)
    person = viewer()
    with write_transaction(db):
        account = db.get(User, user_id)
        if account is None:
            abort(404)
        if account.id == person.user_id:
            flash(_("You cannot change your own account here."), "error")
        elif change == "reset":
            accounts.reset_second_factor(db, account, actor_id=person.user_id)
        else:
            accounts.set_active(db, account, change == "activate", actor_id=person.user_id)
    return redirect(url_for("admin.users"))
