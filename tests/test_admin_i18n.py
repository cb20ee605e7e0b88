"""The admin pages speak English, Chinese, Thai and Spanish, and every string is translated."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from flask import Flask

from intake.i18n import LOCALES_DIR
from intake.models import Role

from admin_support import BASE_URL, add_account, browser, sign_in

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.mark.parametrize("language", ["es", "th", "zh"])
def test_every_admin_string_is_translated_with_its_placeholders(language: str) -> None:
    with (LOCALES_DIR / "admin.pot").open("rb") as source:
        template = {message.id for message in read_po(source) if message.id}
    with (LOCALES_DIR / language / "LC_MESSAGES" / "admin.po").open("rb") as source:
        catalog = read_po(source)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            missing.append(ids[0])
            continue
        for translated in strings:
            assert set(PLACEHOLDER.findall(translated)) <= set(PLACEHOLDER.findall(ids[-1])), ids
    present = {m.id for m in catalog if m.id}
    assert not missing, f"untranslated: {missing[:5]}"
    assert template <= present, f"run scripts/update-catalogs: {sorted(template - present)[:5]}"


def test_the_interface_follows_the_chosen_language(app: Flask) -> None:
    client = sign_in(app, add_account(app, Role.ADMIN))
    assert "Reports" in client.get(f"{BASE_URL}/admin/").get_data(as_text=True)
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get(f"{BASE_URL}/admin/").get_data(True)
    )
    assert token
    client.post(f"{BASE_URL}/admin/language", data={"locale": "th", "csrf_token": token[1]})
    html = client.get(f"{BASE_URL}/admin/").get_data(as_text=True)
    assert 'lang="th"' in html
    assert re.search(r"[\u0e00-\u0e7f]", html)


def test_the_browser_language_is_the_default(app: Flask) -> None:
    page = browser(app).get(f"{BASE_URL}/admin/login", headers={"Accept-Language": "es-ES,es"})
    assert 'lang="es"' in page.get_data(as_text=True)


def test_a_refused_change_is_explained_in_the_chosen_language(app: Flask) -> None:
    client = sign_in(app, add_account(app, Role.ADMIN))
    page = client.get(f"{BASE_URL}/admin/partners").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    client.post(f"{BASE_URL}/admin/language", data={"locale": "es", "csrf_token": token[1]})
    for _ in range(2):
        client.post(
            f"{BASE_URL}/admin/partners",
            data={"name": "Socio Inventado", "countries": "MY", "csrf_token": token[1]},
        )
    html = client.get(f"{BASE_URL}/admin/partners").get_data(as_text=True)
    assert "ya existe un socio con este nombre" in html
