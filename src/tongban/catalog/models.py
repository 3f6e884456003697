"""Tables of the service-item catalog."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.org.models import Org


class ServiceItem(Base):
    """One service item of a place's implementation list (实施清单).

    ``impl_code`` (实施编码) names the item as one place implements it; ``base_code`` (基本编码,
    the part before the area code) is the same item across places, which is how 对标 lines
    up cities. ``org`` is whose list it is (the demo city holds a real district's list).
    """

    __tablename__ = "service_item"
    __table_args__ = (UniqueConstraint("org_id", "impl_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    impl_code: Mapped[str] = mapped_column(String(100), index=True)
    base_code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(100), default="")
    dept_code: Mapped[str] = mapped_column(String(64), default="")
    item_type: Mapped[str] = mapped_column(String(4))
    main_item: Mapped[str] = mapped_column(String(300), default="")  # 主项; "" when none
    area_code: Mapped[str] = mapped_column(String(12), default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    org: Mapped[Org] = relationship(lazy="joined")
