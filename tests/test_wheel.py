"""The installed package is complete, as a container build or a deploy installs it.

A wheel built from the checkout is installed into a fresh venv in a temporary directory, outside
the checkout. The dependencies come from this test venv through a .pth line (no download); the
.pth files inside that directory are not processed, so the checkout's editable install does
not leak in. There the package migrates an SQLite file, answers a Thai worker in Thai, renders
the sign-in page in Chinese and runs `intake analyze`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from intake import create_app, i18n
from intake.config import Config
from intake.i18n import MissingCatalog

from conftest import REPO

pytestmark = pytest.mark.slow

THAI = re.compile(r"[\u0e00-\u0e7f]")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# The sign-in page, asked for in Chinese, from the installed package; and its stylesheet.
SIGN_IN = """
from intake import create_app
client = create_app().test_client()
page = client.get("/admin/login", headers={"Accept-Language": "zh-CN,zh"})
css = client.get("/static/admin.css")
print(page.status_code, css.status_code)
print(page.get_data(as_text=True))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (the checkout gets no build/ folder)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "intake", source / "intake", ignore=ignore)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--wheel-dir", str(dist), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    [built] = dist.glob("intake-*.whl")
    return built


def package_files() -> list[str]:
    """Every file of the package in the checkout (git's list where there is one)."""
    if (REPO / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "intake"], cwd=REPO, check=True, capture_output=True, text=True
        ).stdout.split()
        return [name for name in listed if (REPO / name).is_file()]
    return [
        str(path.relative_to(REPO))
        for path in (REPO / "intake").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    inside = set(zipfile.ZipFile(wheel).namelist())

    missing = [name for name in package_files() if name not in inside]

    assert not missing, f"not in the wheel (add them to package-data): {missing[:10]}"
    for needed in (
        "intake/templates/admin/login.html",
        "intake/static/admin.css",
        "intake/locales/th/LC_MESSAGES/messages.po",
        "intake/locales/zh/LC_MESSAGES/admin.po",
        "intake/migrations/env.py",
        "intake/migrations/script.py.mako",
        "intake/pipeline/lexicons/th.toml",
    ):
        assert needed in inside


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with the wheel installed; dependencies borrowed."""
    venv = tmp_path_factory.mktemp("venv")
    assert REPO not in venv.parents
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (Path(site) / "borrowed-dependencies.pth").write_text("\n".join(ours) + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    return venv


def run(
    venv: Path, place: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run an installed command in `place`, with none of this environment's intake settings."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("INTAKE_", "TWILIO_", "PYTHON", "FLASK_", "DATABASE_URL"))
    }
    clean["PATH"] = f"{venv / 'bin'}{os.pathsep}{clean.get('PATH', '')}"
    return subprocess.run(
        args, cwd=place, env=clean | env, input=stdin, capture_output=True, text=True,
        timeout=300, check=False,
    )


def test_the_installed_package_migrates_answers_in_thai_signs_in_in_chinese_and_analyses(
    venv: Path, tmp_path: Path
) -> None:
    place = tmp_path  # a working folder far from the checkout
    where = run(venv, place, "python", "-c", "import intake; print(intake.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout

    database = f"sqlite:///{place / 'intake.sqlite'}"
    upgraded = run(venv, place, "intake", "db", "upgrade", DATABASE_URL=database)
    assert upgraded.returncode == 0, upgraded.stderr
    engine = create_engine(database)
    assert {"message", "report", "outbox"} <= set(inspect(engine).get_table_names())
    engine.dispose()

    answered = run(
        venv, place, "intake", "sms", "นายจ้างไม่จ่ายค่าล่วงเวลามาสองเดือนแล้ว",
        "--from", "+66812345670", "--to", "+66200000000", DATABASE_URL=database,
    )
    assert answered.returncode == 0, answered.stderr
    assert THAI.search(answered.stdout), answered.stdout
    # Development mode says so, once; its secrets live under the venv, not in site-packages.
    assert answered.stderr.count("development mode") == 1, answered.stderr
    assert (venv / "var" / "intake-instance" / "dev-secrets.json").is_file()

    signed_in = run(
        venv, place, "python", "-c", SIGN_IN, DATABASE_URL=database, INTAKE_ENV="development"
    )
    assert signed_in.returncode == 0, signed_in.stderr
    statuses, page = signed_in.stdout.split("\n", 1)
    assert statuses == "200 200"
    assert 'lang="zh"' in page
    assert CHINESE.search(page)

    analysed = run(
        venv, place, "intake", "analyze",
        stdin=json.dumps({"text": "เจ้านายยึดพาสปอร์ตของเรา", "from": "+66812345670"}) + "\n",
    )
    assert analysed.returncode == 0, analysed.stderr
    [line] = analysed.stdout.splitlines()
    assert json.loads(line)["language"] == "th"

    # An install that lost a catalog refuses to start, in one line, rather than answer in English.
    catalog = Path(where.stdout.strip()).parent / "locales" / "th" / "LC_MESSAGES" / "messages.po"
    catalog.unlink()
    refused = run(
        venv, place, "intake", "sms", "สวัสดี", "--from", "+66812345670", DATABASE_URL=database
    )
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert "catalog for th" in refused.stderr


def test_a_catalog_that_cannot_be_found_stops_the_start(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, locales)
    (locales / "th" / "LC_MESSAGES" / "messages.po").unlink()
    monkeypatch.setattr(i18n, "LOCALES_DIR", locales)
    i18n.catalog.cache_clear()
    try:
        with pytest.raises(MissingCatalog, match="catalog for th"):
            create_app(config)
    finally:
        i18n.catalog.cache_clear()
