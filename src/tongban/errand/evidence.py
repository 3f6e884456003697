"""Files of errands: a photo for each custody hand-over (uploaded by the runner from the
runner page) and the requester's 委托书, a signature drawn on the tracking page, without which
no runner may pick up documents (``service._check``: pickup needs ``errand.authorised``).

Files are stored as rectification stores its attachments: in ``TONGBAN_UPLOAD_DIR`` under a
random name, with their size and SHA-256; the type is judged from the content's first bytes
(JPEG or PNG), never from a file name. A file is served only to the errand's runner and to
staff who see its zone.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit, uploads
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from tongban.core.security import Actor, Role
from tongban.errand import service
from tongban.errand.enums import ErrandState
from tongban.errand.models import Errand, ErrandFile, Handover
from tongban.org import service as org_service

#: content type → the extension a stored file gets
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}
SIGNATURE_PREFIX = "data:image/png;base64,"
#: A drawn signature is at most this wide and tall (pixels).
SIGNATURE_MAX_SIDE = 2000
#: States in which the requester may still sign (before a pickup).
SIGNABLE = frozenset({ErrandState.submitted, ErrandState.open, ErrandState.offered,
                      ErrandState.accepted})


def _store(db: Session, *, errand: Errand, kind: str, content: bytes, content_type: str,
           by: str, handover: Handover | None = None) -> ErrandFile:
    stored, sha256 = uploads.store(content, extension=EXTENSIONS[content_type],
                                   prefix="errand-")
    found = ErrandFile(errand_id=errand.id, handover_id=handover.id if handover else None,
                       kind=kind, stored_name=stored, content_type=content_type,
                       size=len(content), sha256=sha256, uploaded_by=by, created_at=utcnow())
    db.add(found)
    db.flush()
    return found


def _is_own_runner(db: Session, actor: Actor, errand: Errand) -> bool:
    runner = service.runner_of(db, actor=actor)
    return runner is not None and errand.runner_id == runner.id


def may_add_photo(db: Session, *, actor: Actor, errand: Errand) -> bool:
    """The errand's runner, or staff of its zone, may add hand-over photos."""
    if actor.role is Role.runner:
        return _is_own_runner(db, actor, errand)
    return actor.role in (Role.admin, Role.analyst, Role.liaison) \
        and org_service.can_see(db, actor=actor, org=errand.zone)


@audit.action({"errand.photo_added": "上传交接照片"})
def add_photo(db: Session, *, actor: Actor, errand: Errand, content: bytes,
              handover_id: int | None = None) -> ErrandFile:
    """A photo of one hand-over of ``errand`` (one per hand-over), checked by its content
    (decoded whole) and size. Without ``handover_id`` the photo waits for the next step,
    whose ``photo_ref`` (``file:<id>``) names it (``service.transition``)."""
    if not may_add_photo(db, actor=actor, errand=errand):
        raise PermissionDenied("只有承接该代办的跑手或所在区域的工作人员可以上传交接照片")
    handover = None
    if handover_id is not None:
        handover = next((h for h in errand.handovers if h.id == handover_id), None)
        if handover is None:
            raise NotFound(f"代办 #{errand.id} 没有这次交接")
        if handover.photo_ref:
            raise Conflict("这次交接已有照片")
    limit = get_settings().errand_photo_max_bytes
    if not content:
        raise DomainError("照片是空的")
    if len(content) > limit:
        raise DomainError(f"照片超过 {limit // (1024 * 1024) or 1} MB 的上限")
    content_type, _ = uploads.check_image(content, shown="照片")
    found = _store(db, errand=errand, kind="photo", content=content,
                   content_type=content_type, by=actor.username, handover=handover)
    if handover is not None:
        handover.photo_ref = f"file:{found.id}"
    db.flush()
    audit.record(db, actor=actor, action="errand.photo_added", object_type="errand",
                 object_id=errand.id, changes={"handover": handover.id if handover else None,
                                               "file": found.id, "size": len(content),
                                               "sha256": found.sha256})
    return found


def may_sign(errand: Errand) -> bool:
    """Whether the requester may still sign the 委托书 (not yet signed, before a pickup)."""
    return not errand.authorised and ErrandState(errand.state) in SIGNABLE


def decode_signature(signature: str) -> bytes:
    """The PNG of a signature drawn on a phone page and posted as a data URL, once it is a
    PNG of sensible size; refused otherwise."""
    if not signature.startswith(SIGNATURE_PREFIX):
        raise DomainError("请先在签名框内签名")
    try:
        content = base64.b64decode(signature[len(SIGNATURE_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("签名图片无效") from None
    limit = get_settings().errand_signature_max_bytes
    if len(content) > limit:
        raise DomainError(f"签名图片超过 {limit // 1024} KB")
    _, (width, height) = uploads.check_image(content, formats={"PNG"}, shown="签名图片")
    if not (0 < width <= SIGNATURE_MAX_SIDE and 0 < height <= SIGNATURE_MAX_SIDE):
        raise DomainError("签名图片尺寸无效")
    return content


@audit.action({"errand.authorised": "申请人签署委托书"})
def _authorise(db: Session, *, errand: Errand, content: bytes) -> Errand:
    found = _store(db, errand=errand, kind="authorisation", content=content,
                   content_type="image/png", by=service.REQUESTER.username)
    errand.authorised, errand.authorised_at = True, utcnow()
    db.flush()
    audit.record(db, actor=service.REQUESTER, action="errand.authorised", object_type="errand",
                 object_id=errand.id, changes={"authorised": [False, True], "file": found.id,
                                               "sha256": found.sha256})
    return errand


def sign_authorisation(db: Session, *, token: str, signature: str, client: str = "") -> Errand:
    """The requester signs the 委托书 on the tracking page: a PNG drawn on the page, posted as
    a data URL (rate-limited like the page's other writes). Pickup is allowed from then on."""
    service.limit_client(db, client)
    errand = service.tracked(db, token=token)
    if not may_sign(errand):
        raise Conflict("该代办已授权，或已不能再签署委托书")
    return _authorise(db, errand=errand, content=decode_signature(signature))


def submit_signed(db: Session, *, request: service.Request, client: str,
                  signature: str = "") -> service.Submitted:
    """A request from the public page, authorised only by the 委托书 signed on it (a drawn
    signature); without one it is submitted unauthorised, to be signed on the tracking page."""
    content = decode_signature(signature) if signature else None
    done = service.submit_public(db, request=replace(request, authorised=False), client=client)
    if content is not None:
        _authorise(db, errand=done.errand, content=content)
    return done


def authorisation_of(db: Session, *, errand: Errand) -> ErrandFile | None:
    """The errand's signed 委托书, if any."""
    return db.scalar(select(ErrandFile).where(ErrandFile.errand_id == errand.id,
                                              ErrandFile.kind == "authorisation")
                     .order_by(ErrandFile.id.desc()).limit(1))


def get_file(db: Session, *, actor: Actor, file_id: int) -> tuple[ErrandFile, Path]:
    """A file and its path, for the errand's runner and staff who see its zone (any other
    actor, like an unknown id, gets the same 404)."""
    found = db.get(ErrandFile, file_id)
    missing = NotFound("未找到该文件")
    if found is None:
        raise missing
    errand = db.get(Errand, found.errand_id)
    if errand is None:
        raise missing
    if actor.role is Role.runner:
        if not _is_own_runner(db, actor, errand):
            raise missing
    else:
        try:
            service.get_errand(db, actor=actor, errand_id=errand.id)
        except (NotFound, PermissionDenied):
            raise missing from None
    path = get_settings().upload_dir / found.stored_name
    if not path.is_file():
        raise NotFound("文件已不在存储目录中")
    return found, path


def tracked_photo(db: Session, *, token: str, file_id: int) -> tuple[ErrandFile, Path]:
    """A hand-over photo of the requester's own errand, through its tracking link (the
    委托书 and other errands' files get the same 404 as an unknown id)."""
    errand = service.tracked(db, token=token)
    found = db.get(ErrandFile, file_id)
    if found is None or found.errand_id != errand.id or found.kind != "photo" \
            or found.handover_id is None:
        raise NotFound("未找到该文件")
    path = get_settings().upload_dir / found.stored_name
    if not path.is_file():
        raise NotFound("文件已不在存储目录中")
    return found, path
