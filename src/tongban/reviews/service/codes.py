"""Rating codes: the link (and QR code) to the rating page for a window, a terminal, a
receipt or a text message.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import urlencode

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.security import Actor
from tongban.org import service as org_service
from tongban.org.enums import OrgLevel
from tongban.org.models import Org
from tongban.reviews.enums import FEEDER_CHANNELS, Channel
from tongban.reviews.service.access import require_reviews_role
from tongban.reviews.service.checks import too_long

#: Channels a printed or sent link can rate through (a 12345 call has no link to follow).
#: Nor is a system default rating a channel anyone rates through.
LINK_CHANNELS = tuple(c for c in Channel if c not in (Channel.hotline, Channel.system)
                      and c not in FEEDER_CHANNELS)


@dataclass(frozen=True)
class RatingCode:
    """The link to the rating page that a QR code on a window, a self-service terminal, a
    receipt or a text message carries: the org, and optionally the service item and the case."""

    org: Org
    item_code: str
    case_no: str
    channel: Channel

    @property
    def query(self) -> str:
        """The query string naming the org, item, case and channel (as ``/rate`` reads it)."""
        return urlencode({k: v for k, v in {"org": self.org.code, "item": self.item_code,
                                            "case": self.case_no,
                                            "channel": self.channel.value}.items() if v})

    @property
    def link(self) -> str:
        return f"{get_settings().public_url.rstrip('/')}/rate?{self.query}"

    def svg(self, *, scale: int = 6) -> str:
        """The QR code as an SVG document (quiet zone included), for pages and printing."""
        out = io.BytesIO()
        segno.make_qr(self.link, error="m").save(out, kind="svg", scale=scale, xmldecl=False,
                                                  title=f"{self.org.name} 好差评评价码")
        return out.getvalue().decode()

    def png(self, *, scale: int = 10) -> bytes:
        out = io.BytesIO()
        segno.make_qr(self.link, error="m").save(out, kind="png", scale=scale)
        return out.getvalue()


def rating_code(db: Session, *, actor: Actor, org: Org, item_code: str = "", case_no: str = "",
                channel: Channel = Channel.window) -> RatingCode:
    """The rating link (and QR code) of one of the actor's orgs; a liaison makes its own."""
    require_reviews_role(actor)
    org_service.ensure_visible(db, actor=actor, org=org)
    item_code, case_no = item_code.strip(), case_no.strip()
    problems = [problem for name, value in (("item_code", item_code), ("case_no", case_no))
                if (problem := too_long(name, value))]
    if channel not in LINK_CHANNELS:
        problems.append(f"渠道「{channel.label}」不通过链接评价")
    if problems:
        raise DomainError("；".join(problems))
    return RatingCode(org=org, item_code=item_code, case_no=case_no, channel=channel)


def rating_orgs(db: Session) -> list[Org]:
    """The units of this city a citizen may rate by name on the rating page (its counties and
    departments), for the page's suggestions and its example."""
    city = db.scalar(select(Org).where(Org.code == get_settings().city_code))
    if city is None:
        return []
    return list(db.scalars(select(Org).where(
        Org.parent_id == city.id, Org.is_active.is_(True),
        Org.level.in_([OrgLevel.county.value, OrgLevel.department.value]))
        .order_by(Org.level, Org.code).limit(200)))
