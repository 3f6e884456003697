"""The requester's phone numbers under the newest data key."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tongban.core import audit, privacy
from tongban.core.security import Actor
from tongban.errand.models import (
    Errand,
)
from tongban.org import service as org_service


@audit.action({"errand.keys_rotated": "轮换代办电话的加密密钥"})
def rotate_personal_data(db: Session, *, actor: Actor, batch: int = 5000) -> int:
    """Encrypt every requester's phone again with the newest data key (``tongban keys
    rotate``); refuses, changing nothing, when any cannot be decrypted."""
    org_service.require_manager(actor, "更换数据密钥")
    done, last_id = 0, 0
    while True:
        rows = db.execute(select(Errand.id, Errand.phone_cipher).where(
            Errand.id > last_id, Errand.phone_cipher != "").order_by(Errand.id).limit(batch)).all()
        if not rows:
            break
        db.execute(update(Errand), [{"id": rid, "phone_cipher": privacy.rotate(cipher)}
                                    for rid, cipher in rows])
        done += len(rows)
        last_id = rows[-1][0]
    if done:
        audit.record(db, actor=actor, action="errand.keys_rotated", object_type="errand",
                     object_id="phone_cipher", changes={"rotated": done})
    return done


def unreadable_personal_data(db: Session, *, sample: int = 50) -> int:
    """How many of the newest requesters' phones no configured key opens."""
    ciphers = db.scalars(select(Errand.phone_cipher).where(Errand.phone_cipher != "")
                         .order_by(Errand.id.desc()).limit(sample)).all()
    return sum(1 for c in ciphers if not privacy.readable(c))
