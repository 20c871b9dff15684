"""A Report into a .docx: docxtpl renders the template (the default one or a user's), strictly.

Strict on purpose: a user's template naming a field the report does not have is refused with the
field's name, rather than printing a blank where a deadline should be. The output is written to a
temporary file beside the target and renamed, so a failure never leaves a half-written report.
"""
from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path

import jinja2
from docx.opc.exceptions import PackageNotFoundError
from docxtpl import DocxTemplate

from retrieval.errors import InputError
from retrieval.report.content import Report


def render_report(report: Report, template: bytes) -> bytes:
    """The report as .docx bytes (what a chat channel sends, or ``write_atomically`` saves)."""
    try:
        document = DocxTemplate(io.BytesIO(template))
        document.render(report.context(), jinja2.Environment(undefined=jinja2.StrictUndefined), autoescape=True)
        out = io.BytesIO()
        document.save(out)
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as exc:
        raise InputError(f"the template is not a Word .docx file ({exc})") from exc
    except jinja2.UndefinedError as exc:
        raise InputError(f"the template uses a field the report does not have: {exc}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"the template's fields are malformed: {exc.message}") from exc
    return out.getvalue()


def read_template(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the template {path}: {exc.strerror}") from exc


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path``, all or nothing: written beside it under a temporary name, then renamed."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644 & ~_umask())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
