"""Names shown for codes and enum values, translated; the stored values never change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from intake.models import (
    CaseStatus,
    Finding,
    RemedyStatus,
    ReportStatus,
    Responsible,
    Role,
    VerificationMethod,
)

CATEGORIES: dict[str, LazyString] = {
    "forced_labour": _l("Forced labour"),
    "child_labour": _l("Child labour"),
    "working_hours": _l("Working hours"),
    "wages": _l("Wages"),
    "harsh_treatment": _l("Harsh treatment"),
    "discrimination": _l("Discrimination"),
    "freedom_of_association": _l("Freedom of association"),
    "health_safety": _l("Health and safety"),
    "living_conditions": _l("Living conditions"),
    "employment_terms": _l("Employment terms"),
    "retaliation": _l("Retaliation"),
    "other": _l("Other"),
}

REPORT_STATUS = {
    ReportStatus.NEW: _l("New"),
    ReportStatus.TRIAGED: _l("Triaged"),
    ReportStatus.VERIFIED: _l("Verified"),
    ReportStatus.CLOSED: _l("Closed"),
}
CASE_STATUS = {
    CaseStatus.OPEN: _l("Open"),
    CaseStatus.VERIFIED: _l("Verified"),
    CaseStatus.REMEDIATION: _l("Remediation"),
    CaseStatus.CLOSED: _l("Closed"),
}
METHODS = {
    VerificationMethod.WORKER_INTERVIEWS: _l("Worker interviews"),
    VerificationMethod.DOCUMENT_REVIEW: _l("Document review"),
    VerificationMethod.SITE_VISIT: _l("Site visit"),
    VerificationMethod.MANAGEMENT_INTERVIEW: _l("Management interview"),
    VerificationMethod.OTHER: _l("Other"),
}
FINDINGS = {
    Finding.SUBSTANTIATED: _l("Substantiated"),
    Finding.PARTLY: _l("Partly substantiated"),
    Finding.NOT_SUBSTANTIATED: _l("Not substantiated"),
    Finding.INCONCLUSIVE: _l("Inconclusive"),
}
RESPONSIBLE = {
    Responsible.FACTORY: _l("Factory"),
    Responsible.SUPPLIER: _l("Supplier"),
    Responsible.BRAND: _l("Brand"),
    Responsible.RESELLER: _l("Reseller"),
    Responsible.BUYER: _l("Public buyer"),
}
REMEDY_STATUS = {
    RemedyStatus.PLANNED: _l("Planned"),
    RemedyStatus.IN_PROGRESS: _l("In progress"),
    RemedyStatus.DONE: _l("Done"),
    RemedyStatus.REOPENED: _l("Reopened: workers say not fixed"),
}
ROLES = {
    Role.ADMIN: _l("Administrator"),
    Role.COORDINATOR: _l("Coordinator"),
    Role.MONITOR: _l("Monitor"),
}


def choices(labels: Mapping[Any, LazyString]) -> list[tuple[str, LazyString]]:
    """(value, label) pairs for a select field."""
    return [(str(value), label) for value, label in labels.items()]

# Twilio's delivery statuses, as monitors read them on a reply.
DELIVERY = {
    "queued": _l("queued"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "delivered": _l("delivered"),
    "undelivered": _l("not delivered"),
    "failed": _l("failed: not sent"),
}

# The case timeline's steps (the audit log's actions), as monitors read them.
TIMELINE = {
    "case.open": _l("Case opened"),
    "case.attach": _l("Report added"),
    "case.verification": _l("Verification recorded"),
    "remedy.add": _l("Remedy item agreed"),
    "remedy.update": _l("Remedy item updated"),
    "remedy.complete": _l("All remedy items done"),
    "remedy.reopened": _l("Reopened: a worker says it is not fixed"),
    "check_back.started": _l("Workers asked whether it is fixed"),
    "case.close": _l("Case closed"),
}
