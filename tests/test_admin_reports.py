"""A monitor works a report: reads it safely, corrects it, notes, merges, opens a case."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import (
    AuditEvent,
    Case,
    CategoryLabel,
    Message,
    Note,
    Outbox,
    OutboxKind,
    Report,
    ReportStatus,
)

from admin_support import BASE_URL, World, build_world, post_form, sign_in


@pytest.fixture
def world(app: Flask) -> World:
    return build_world(app)


def test_queue_lists_own_partner_reports_only(app: Flask, world: World, session: Session) -> None:
    code_a = session.get(Report, world.report_a).code
    code_b = session.get(Report, world.report_b).code
    monitor = sign_in(app, world.monitor_a).get(f"{BASE_URL}/admin/").get_data(as_text=True)
    assert code_a in monitor
    assert code_b not in monitor
    coordinator = sign_in(app, world.coordinator).get(f"{BASE_URL}/admin/").get_data(as_text=True)
    assert code_a in coordinator
    assert code_b in coordinator


def test_sms_text_is_escaped(app: Flask, world: World) -> None:
    client = sign_in(app, world.monitor_a)
    for path in ("/admin/", f"/admin/reports/{world.report_a}"):
        html = client.get(f"{BASE_URL}{path}").get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_page_shows_thread_and_never_the_number(app: Flask, world: World) -> None:
    page = sign_in(app, world.monitor_a).get(f"{BASE_URL}/admin/reports/{world.report_a}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "overtime was not paid" in html
    assert "812345671" not in html


def test_correcting_categories_is_stored_as_a_label(
    app: Flask, world: World, session: Session
) -> None:
    client = sign_in(app, world.monitor_a)
    page = f"/admin/reports/{world.report_a}"
    answer = post_form(client, page, f"{page}/categories", {"codes": ["wages", "working_hours"]})
    assert answer.status_code == 302
    report = session.get(Report, world.report_a)
    assert sorted(report.category_codes) == ["wages", "working_hours"]
    label = session.scalar(select(CategoryLabel).where(CategoryLabel.report_id == report.id))
    assert label is not None
    assert sorted(label.categories) == ["wages", "working_hours"]
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "report.categories"))


def test_status_note_and_assignment(app: Flask, world: World, session: Session) -> None:
    client = sign_in(app, world.monitor_a)
    page = f"/admin/reports/{world.report_a}"
    post_form(client, page, f"{page}/status", {"status": "triaged", "urgent": "y"})
    post_form(client, page, f"{page}/notes", {"text": "Call the partner's field team"})
    post_form(client, page, f"{page}/assign", {"assignee_id": str(world.monitor_a.id)})
    report = session.get(Report, world.report_a)
    assert report.status is ReportStatus.TRIAGED
    assert report.urgent
    assert report.assignee_id == world.monitor_a.id
    assert session.scalar(select(Note.text)) == "Call the partner's field team"
    # A monitor of another partner cannot be assigned.
    post_form(client, page, f"{page}/assign", {"assignee_id": str(world.monitor_b.id)})
    assert session.get(Report, world.report_a).assignee_id == world.monitor_a.id


def test_merge_moves_messages_and_closes_the_duplicate(
    app: Flask, world: World, session: Session
) -> None:
    from conftest import HOTLINE, Twilio

    Twilio(app.test_client()).sms(
        "Same factory, no pay slip either", sender="+66812345679", to=HOTLINE
    )
    duplicate = session.scalars(
        select(Report).where(Report.partner_id == world.partner_a).order_by(Report.id.desc())
    ).first()
    target = session.get(Report, world.report_a)
    client = sign_in(app, world.monitor_a)
    page = f"/admin/reports/{duplicate.id}"
    merged = post_form(client, page, f"{page}/merge", {"code": target.code})
    assert merged.status_code == 302
    session.expire_all()
    duplicate = session.get(Report, duplicate.id)
    assert duplicate.merged_into_id == target.id
    assert duplicate.status is ReportStatus.CLOSED
    texts = session.scalars(select(Message.text).where(Message.report_id == target.id)).all()
    assert any("pay slip" in text for text in texts)
    # Merging into a report of another partner is refused as not found.
    other = session.get(Report, world.report_b)
    answer = post_form(
        client,
        f"/admin/reports/{world.report_a}",
        f"/admin/reports/{world.report_a}/merge",
        {"code": other.code},
    )
    assert answer.status_code == 404


def test_original_text_is_role_limited_and_audited(
    app: Flask, world: World, session: Session
) -> None:
    message = session.scalar(select(Message).where(Message.report_id == world.report_a))
    path = f"/admin/reports/{world.report_a}/messages/{message.id}/original"
    page = f"/admin/reports/{world.report_a}"
    monitor = sign_in(app, world.monitor_a)
    assert "Show original text" not in monitor.get(f"{BASE_URL}{page}").get_data(as_text=True)
    assert post_form(monitor, page, path, {}).status_code == 403
    coordinator = sign_in(app, world.coordinator)
    shown = post_form(coordinator, page, path, {})
    assert shown.status_code == 200
    assert "&lt;script&gt;" in shown.get_data(as_text=True)
    views = session.scalars(select(AuditEvent).where(AuditEvent.action == "original.view")).all()
    assert [(v.user_id, v.target_id) for v in views] == [(world.coordinator.id, message.id)]


def test_open_case_from_report_then_verify_and_remedy(
    app: Flask, world: World, session: Session
) -> None:
    client = sign_in(app, world.monitor_a)
    page = f"/admin/reports/{world.report_a}"
    answer = post_form(
        client,
        page,
        "/admin/cases/new",
        {"title": "Unpaid overtime, line 3", "category": "wages", "report_id": str(world.report_a)},
    )
    assert answer.status_code == 302
    case = session.scalar(select(Case))
    assert case.partner_id == world.partner_a
    assert session.get(Report, world.report_a).case_id == case.id
    case_page = f"/admin/cases/{case.id}"
    post_form(
        client,
        case_page,
        f"{case_page}/verifications",
        {
            "method": "interviews",
            "verified_on": "2026-11-01",
            "finding": "substantiated",
            "notes": "Six workers confirmed",
        },
    )
    post_form(
        client,
        case_page,
        f"{case_page}/remedies",
        {"action": "Pay back the overtime owed", "responsible": "factory", "due_on": "2026-01-31"},
    )
    html = client.get(f"{BASE_URL}{case_page}").get_data(as_text=True)
    assert "Substantiated" in html
    assert "Pay back the overtime owed" in html
    assert "Overdue" in html  # due in January 2026, not done
    session.refresh(case)
    item = case.remedies[0]
    post_form(
        client,
        case_page,
        f"{case_page}/remedies/{item.id}",
        {f"item{item.id}-status": "done", f"item{item.id}-evidence": "Payroll records seen"},
    )
    session.refresh(item)
    assert item.status.value == "done"
    actions = [
        entry
        for entry in session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_type == "case_file")
        )
    ]
    assert actions == [
        "case.open",
        "case.verification",
        "remedy.add",
        "remedy.update",
        "remedy.complete",
        "check_back.started",
    ]
    html = client.get(f"{BASE_URL}{case_page}").get_data(as_text=True)
    assert "All remedy items done" in html
    # The worker who reported it is asked whether it really happened.
    survey = session.scalar(select(Outbox).where(Outbox.kind == OutboxKind.SURVEY))
    assert survey is not None
    assert survey.report_id == world.report_a
    assert "0 of 1 say fixed" in html


def test_persistent_issues_view(app: Flask, world: World) -> None:
    page = sign_in(app, world.coordinator).get(f"{BASE_URL}/admin/persistent")
    assert page.status_code == 200


def test_coordinator_downloads_the_monthly_export(
    app: Flask, world: World, session: Session
) -> None:
    import io
    import zipfile

    client = sign_in(app, world.coordinator)
    month = session.get(Report, world.report_a).created_at.strftime("%Y-%m")
    answer = post_form(
        client, "/admin/exports", "/admin/exports", {"month": month, "format": "json", "buyer": ""}
    )
    assert answer.status_code == 200
    assert answer.mimetype == "application/zip", answer.get_data(as_text=True).split("<main>")[-1][
        :600
    ]
    names = zipfile.ZipFile(io.BytesIO(answer.data)).namelist()
    assert any(name.endswith("manifest.json") for name in names)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event is not None
    assert event.user_id == world.coordinator.id
    assert event.detail["via"] == "admin"


def test_a_monitors_note_and_reply_are_redacted_before_they_are_stored(
    app: Flask, world: World, session: Session
) -> None:
    # Issue 13: a monitor's own words get the number, ID and name pass a worker's text gets,
    # and the monitor is shown what was hidden.
    client = sign_in(app, world.monitor_a)
    page = f"/admin/reports/{world.report_a}"
    answer = post_form(
        client, page, f"{page}/notes", {"text": "supervisor Kevin Tan has her number 0123456789"}
    )
    assert answer.status_code == 302
    note = session.scalar(select(Note.text))
    assert note is not None
    assert "Kevin" not in note
    assert "0123456789" not in note
    assert "[NAME]" in note
    assert "[PHONE]" in note
    shown = client.get(f"{BASE_URL}{page}").get_data(as_text=True)
    assert (
        "Hidden before saving: 1 phone numbers, 0 ID numbers, 0 e-mail addresses, 1 names" in shown
    )

    post_form(client, page, f"{page}/reply", {"text": "Is madam Lucy still at the hostel?"})
    body = session.scalar(select(Outbox.body).where(Outbox.kind == OutboxKind.REPLY))
    assert body is not None
    assert "Lucy" not in body
    assert "[NAME]" in body
