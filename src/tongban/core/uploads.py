"""Evidence files: what an upload must be before it is kept, and where it is kept.

One rule for every domain that takes evidence (整改佐证材料, 跑团 hand-over photos and 委托书, the
ledgers' evidence): the type comes from the content, never the client's name or header; the
extension must be allowed (``TONGBAN_UPLOAD_EXTENSIONS``) and agree with the content's first
bytes; an image is decoded whole by Pillow (a file that merely starts like a PNG or JPEG is
refused, and so is one whose pixel count is absurd); the file is stored in
``TONGBAN_UPLOAD_DIR`` under a random name, outside the site, with its size and SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tongban.core.config import get_settings
from tongban.core.db import UTCDateTime, utcnow
from tongban.core.errors import DomainError, NotFound

#: extension → (the content's possible first bytes, content type)
KINDS: dict[str, tuple[tuple[bytes, ...], str]] = {
    "pdf": ((b"%PDF",), "application/pdf"),
    "png": ((b"\x89PNG\r\n\x1a\n",), "image/png"),
    "jpg": ((b"\xff\xd8\xff",), "image/jpeg"),
    "jpeg": ((b"\xff\xd8\xff",), "image/jpeg"),
    "docx": ((b"PK\x03\x04",),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ((b"PK\x03\x04",),
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "zip": ((b"PK\x03\x04",), "application/zip"),
    "ofd": ((b"PK\x03\x04",), "application/ofd"),
    "doc": ((b"\xd0\xcf\x11\xe0",), "application/msword"),
    "xls": ((b"\xd0\xcf\x11\xe0",), "application/vnd.ms-excel"),
}
#: The images Pillow must decode before they are kept, by Pillow's format name.
IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG"}
#: More pixels than any phone camera takes (a decompression bomb declares billions).
IMAGE_MAX_PIXELS = 60_000_000


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed: its display name, extension and content type."""

    shown: str
    extension: str
    content_type: str


def clean_filename(name: str) -> str:
    """A display name from a client's file name: no directories, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".")
    return base[:200] or "附件"


def check_file(filename: str, content: bytes, *, max_bytes: int | None = None,
               extensions: set[str] | None = None) -> CheckedFile:
    """``content`` as a file named ``filename`` may be kept: its extension allowed, its size
    within the limit, its first bytes those of its extension, an image decodable."""
    settings = get_settings()
    allowed = extensions if extensions is not None else settings.upload_extension_set
    limit = max_bytes if max_bytes is not None else settings.upload_max_bytes
    shown = clean_filename(filename)
    extension = shown.rsplit(".", 1)[-1].lower() if "." in shown else ""
    if extension not in allowed:
        raise DomainError(f"不支持的文件类型「.{extension or '无扩展名'}」，允许："
                          f"{'、'.join(sorted(allowed))}")
    if not content:
        raise DomainError(f"文件「{shown}」是空的")
    if len(content) > limit:
        raise DomainError(f"文件「{shown}」超过 {_size(limit)} 的上限")
    starts, content_type = KINDS.get(extension, ((), "application/octet-stream"))
    if starts and not content.startswith(starts):
        raise DomainError(f"文件「{shown}」的内容与扩展名 .{extension} 不符")
    if extension in IMAGE_FORMATS:
        check_image(content, formats={IMAGE_FORMATS[extension]}, shown=shown)
    return CheckedFile(shown, extension, content_type)


def check_image(content: bytes, *, formats: set[str] | None = None,
                shown: str = "图片") -> tuple[str, tuple[int, int]]:
    """The content type and size of a PNG or JPEG that Pillow decodes whole; refused
    otherwise (a truncated file, a PNG with a bad checksum, a bomb of pixels)."""
    wanted = formats or {"PNG", "JPEG"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                found = probe.format or ""
                width, height = probe.size
                if found not in wanted:
                    raise DomainError(f"「{shown}」不是 {'或'.join(sorted(wanted))} 图片")
                if width * height > IMAGE_MAX_PIXELS:
                    raise DomainError(f"「{shown}」的像素过多（{width}×{height}）")
                probe.verify()  # checksums and structure
            with Image.open(io.BytesIO(content)) as image:
                image.load()  # every pixel decoded: a file cut short fails here
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(f"「{shown}」不是完整有效的图片") from None
    return ("image/png" if found == "PNG" else "image/jpeg"), (width, height)


def store(content: bytes, *, extension: str, prefix: str = "") -> tuple[str, str]:
    """Keep ``content`` in the upload directory under a new random name; the name and the
    content's SHA-256."""
    directory = get_settings().upload_dir
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{prefix}{uuid.uuid4().hex}.{extension}"
    (directory / name).write_bytes(content)
    return name, hashlib.sha256(content).hexdigest()


class StoredFile:
    """The columns of an evidence file's record (a model mixin): its shown name, the
    generated name it is kept under outside the web root, type, size, SHA-256, who and when."""

    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def keep_evidence(filename: str, content: bytes, *, uploaded_by: str) -> dict[str, Any]:
    """An evidence upload checked (:func:`check_file`) and stored: the values of its
    :class:`StoredFile` columns."""
    checked = check_file(filename, content)
    stored, sha256 = store(content, extension=checked.extension)
    return {"original_name": checked.shown, "stored_name": stored,
            "content_type": checked.content_type, "size": len(content), "sha256": sha256,
            "uploaded_by": uploaded_by}


def stored_path(stored_name: str) -> Path:
    """Where a kept file is; NotFound when it is gone from the upload directory."""
    path = get_settings().upload_dir / stored_name
    if not path.is_file():
        raise NotFound("附件文件已不在存储目录中")
    return path


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
