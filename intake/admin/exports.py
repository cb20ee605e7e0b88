"""The export page: the same `intake.exports.export` as `intake export`, for coordinators."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from flask import flash, render_template, send_file
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from intake.admin import bp, settings
from intake.admin.access import STAFF, roles, viewer
from intake.admin.forms import ExportForm
from intake.db import get_session
from intake.exports import ExportError, ExportParams, LeakFound, Month, export
from intake.models import Buyer, utcnow


@bp.route("/exports", methods=["GET", "POST"])
@roles(*STAFF)
def exports() -> str | Response:
    db = get_session()
    form = ExportForm()
    form.buyer.choices = [("", _("All factories (no buyer)"))] + [
        (buyer.name, buyer.name) for buyer in db.scalars(select(Buyer).order_by(Buyer.name))
    ]
    if not form.is_submitted():
        last = utcnow().date().replace(day=1)
        form.month.data = f"{last.year - (last.month == 1)}-{(last.month - 2) % 12 + 1:02d}"
    if form.validate_on_submit():
        try:
            archive = _export_zip(form)
        except (ExportError, ValueError) as error:
            flash(str(error), "error")
        except LeakFound as leak:
            # Names the table, row and column, never the value.
            flash(_("Export stopped, nothing was written: %(where)s", where=str(leak)), "error")
        else:
            name = f"intake-export-{form.month.data}.zip"
            return send_file(
                archive, mimetype="application/zip", download_name=name, as_attachment=True
            )
    return render_template("admin/exports.html", form=form)


def _export_zip(form: ExportForm) -> io.BytesIO:
    """Run the export into a private temporary folder and return it zipped."""
    config = settings()
    with tempfile.TemporaryDirectory(prefix="intake-export-") as folder:
        params = ExportParams(
            month=Month.parse(form.month.data or ""),
            out_dir=Path(folder),
            buyer=form.buyer.data or None,
            format=form.format.data or "csv",
            records=bool(form.records.data),
            text=bool(form.text.data),
            k=config.export_k,
            user_id=viewer().user_id,
            via="admin",
        )
        result = export(get_session(), params)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(result.folder.rglob("*")):
                if path.is_file():
                    zipped.write(path, path.relative_to(result.folder))
    archive.seek(0)
    return archive
