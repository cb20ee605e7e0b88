"""The manifest: what an export contains, how it was protected, and each file's SHA-256."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

NAME = "manifest.json"


def sha256(path: Path) -> str:
    """The file's SHA-256, read in blocks (a record-level table can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(folder: Path, files: Iterable[Path], **content: Any) -> tuple[Path, dict[str, str]]:
    """Write manifest.json beside `files`; return its path and the hashes it lists."""
    hashes = {path.relative_to(folder).as_posix(): sha256(path) for path in sorted(files)}
    path = folder / NAME
    body = {**content, "files": hashes}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path, hashes
