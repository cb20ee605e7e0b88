"""The admin pages' forms: Flask-WTF gives each one its CSRF token and validation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from intake.admin.params import MAX_DATE, MIN_DATE
from intake.parsing import ascii_id


def record_id(form: FlaskForm, field: Field) -> None:
    """Each id in `field` (empty: none) is ASCII digits within the database's integer range."""
    values = field.data if isinstance(field.data, list) else [field.data]
    if any(value and ascii_id(str(value)) is None for value in values):
        raise ValidationError(_l("Not a valid choice."))


def bounded_date(form: FlaskForm, field: Field) -> None:
    """A date monitors may mean: "9999-12-31" overflows the day after it."""
    if field.data is not None and not MIN_DATE <= field.data <= MAX_DATE:
        raise ValidationError(_l("Not a valid date."))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    code = StringField(
        _l("6-digit code from your authenticator app"),
        validators=[DataRequired(), Length(min=6, max=8)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"))


class ActionForm(FlaskForm):
    """A form with only its CSRF token: for buttons that post."""


class CategoriesForm(FlaskForm):
    codes = SelectMultipleField(_l("Categories"), validate_choice=True)


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"))
    urgent = BooleanField(_l("Urgent"))


class FactoryForm(FlaskForm):
    factory_id = SelectField(
        _l("Factory"), coerce=str, validate_choice=False, validators=[record_id]
    )


class AssignForm(FlaskForm):
    assignee_id = SelectField(
        _l("Assigned to"), coerce=str, validate_choice=False, validators=[record_id]
    )


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Internal note"), validators=[DataRequired(), Length(max=5000)])


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("Message to the worker"), validators=[DataRequired(), Length(max=1000)])


class MergeForm(FlaskForm):
    code = StringField(_l("Code of the report this one duplicates"), validators=[DataRequired()])


class AttachForm(FlaskForm):
    case_id = SelectField(_l("Case"), coerce=str, validate_choice=False, validators=[record_id])


class CaseForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    category = SelectField(_l("Category"), validators=[Optional()])
    report_id = HiddenField(validators=[record_id])


class VerificationForm(FlaskForm):
    method = SelectField(_l("Method"))
    verified_on = DateField(_l("Date"), validators=[DataRequired(), bounded_date])
    finding = SelectField(_l("Finding"))
    notes = TextAreaField(_l("Evidence notes"), validators=[Length(max=10000)])


class RemedyForm(FlaskForm):
    action = TextAreaField(_l("What must be done"), validators=[DataRequired(), Length(max=2000)])
    responsible = SelectField(_l("Responsible"))
    due_on = DateField(_l("Due date"), validators=[Optional(), bounded_date])


class RemedyUpdateForm(FlaskForm):
    status = SelectField(_l("Status"))
    evidence = TextAreaField(_l("Evidence"), validators=[Length(max=10000)])


class FactoryEditForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    aliases = TextAreaField(_l("Other names (one per line)"), validators=[Length(max=5000)])
    country = StringField(_l("Country (ISO code)"), validators=[Optional(), Length(max=2)])
    region = StringField(_l("Region"), validators=[Optional(), Length(max=100)])
    brands = TextAreaField(_l("Brands (one per line)"), validators=[Length(max=5000)])
    suppliers = TextAreaField(_l("Suppliers (one per line)"), validators=[Length(max=5000)])
    partner_id = SelectField(_l("Monitoring partner"), coerce=str, validators=[record_id])


class PartnerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    countries = StringField(_l("Countries it covers (ISO codes, comma-separated)"))


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    phone = StringField(_l("Phone (+country code), stored encrypted"), validators=[Optional()])


class BuyerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    country = StringField(_l("Country (ISO code)"), validators=[Optional(), Length(max=2)])


class ContractForm(FlaskForm):
    reference = StringField(_l("Contract reference"), validators=[DataRequired(), Length(max=100)])
    brands = TextAreaField(_l("Brands (one per line)"))
    factory_ids = SelectMultipleField(_l("Factories"), coerce=str, validators=[record_id])
    starts_on = DateField(_l("Starts"), validators=[Optional(), bounded_date])
    ends_on = DateField(_l("Ends"), validators=[Optional(), bounded_date])


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"))
    partner_id = SelectField(_l("Partner (monitors only)"), coerce=str, validators=[record_id])
    password = PasswordField(_l("First password (12 characters or more)"))


class RoutingRuleForm(FlaskForm):
    partner_id = SelectField(
        _l("Send to partner"), coerce=str, validators=[DataRequired(), record_id]
    )
    hotline = StringField(_l("Hotline number (+country code)"), validators=[Optional()])
    country = StringField(_l("Country (ISO code)"), validators=[Optional(), Length(max=2)])
    factory_id = SelectField(_l("Factory"), coerce=str, validators=[record_id])
    language = SelectField(_l("Language"), coerce=str)
    category = SelectField(_l("Category"), coerce=str)
    priority = IntegerField(
        _l("Priority (lower wins among equally specific rules)"),
        default=100,
        validators=[NumberRange(0, 10_000)],
    )


class RoutePreviewForm(FlaskForm):
    """The sample report of the preview: read-only, sent by GET, so no CSRF token."""

    class Meta:
        csrf = False

    hotline = StringField(_l("Hotline number"), validators=[Optional()])
    country = StringField(_l("Country (ISO code)"), validators=[Optional(), Length(max=2)])
    factory_id = SelectField(_l("Factory"), coerce=str, validators=[Optional(), record_id])
    language = SelectField(_l("Language"), coerce=str, validators=[Optional()])
    categories = SelectMultipleField(_l("Categories"), coerce=str, validators=[Optional()])


class ExportForm(FlaskForm):
    month = StringField(_l("Month (YYYY-MM)"), validators=[DataRequired(), Length(min=7, max=7)])
    buyer = SelectField(_l("Public buyer"), coerce=str, validators=[record_id])
    format = SelectField(
        _l("Format"), choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)"), ("json", "JSON")]
    )
    records = BooleanField(_l("Include the record-level table"))
    text = BooleanField(_l("Include redacted message text (second redaction pass)"))
