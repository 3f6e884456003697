"""Tables of reviews (好差评) and negative-review cases (差评工单)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.org.models import Org


class Review(Base):
    """One citizen's rating of one service (a visit on site, a case online).

    ``(source, source_id)`` makes re-imports idempotent; ``dedup_key`` enforces 一事一评
    (one per case and channel online) and 一次一评 (one per visit on site). The phone number is
    stored encrypted; ``voided`` marks a review left out of every count: one an upheld appeal
    removed, or a held duplicate (``hold``).
    """

    __tablename__ = "review"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_review_period_org", "period", "org_id"),
        # Public ratings only (imports leave client_key empty and pay nothing for it): finds a
        # client's recent ratings for the repeat check.
        Index("ix_review_client_key", "client_key", "created_at",
              sqlite_where=text("client_key != ''"), postgresql_where=text("client_key != ''")),
        # Reviews with a phone only: finds a case by the last four digits of the phone.
        Index("ix_review_phone_suffix", "phone_suffix",
              sqlite_where=text("phone_suffix != ''"), postgresql_where=text("phone_suffix != ''")),
        # Exchange records with a rater key only: a rater's ratings, to see repeat raters.
        Index("ix_review_rater_key", "rater_key",
              sqlite_where=text("rater_key != ''"), postgresql_where=text("rater_key != ''")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    item_code: Mapped[str] = mapped_column(String(100), default="")
    case_no: Mapped[str] = mapped_column(String(64), default="")
    level: Mapped[int] = mapped_column(Integer)
    tags: Mapped[str] = mapped_column(String(300), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    named: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_cipher: Mapped[str] = mapped_column(String(200), default="")
    phone_masked: Mapped[str] = mapped_column(String(20), default="")
    #: The last four digits of the phone as a keyed hash (``privacy.phone_suffix_key``): what a
    #: search for "尾号 1234" matches, without decrypting any number.
    phone_suffix: Mapped[str] = mapped_column(String(32), default="", server_default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    period: Mapped[str] = mapped_column(String(7))
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A public rating identical to one the same client sent within the window is ``held``
    #: (and voided: in no count) until an analyst marks it ``counted`` or ``discarded``.
    hold: Mapped[str] = mapped_column(String(16), default="", server_default="")
    #: Who sent a public rating, as a keyed hash of the client address (never the address).
    client_key: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: The rater's certificate key (certkeyGOV of an exchange record: an ID card or credit code)
    #: as a keyed hash (``privacy.rater_key``), never the key itself: equal for one rater.
    rater_key: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: A second rating of the same case (exchange ``assessNumber`` 2): the first rating it
    #: follows up; kept out of every count (``voided``), since it is no new rating.
    follow_up_of: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("review.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    org: Mapped[Org] = relationship(lazy="joined")


class NegativeCase(Base):
    """The workflow of one 差评 (level 1–2): callback, verification, rectification, reply,
    the citizen's follow-up, or an appeal; deadlines in working days after receipt."""

    __tablename__ = "negative_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True, default="received")
    category: Mapped[str] = mapped_column(String(32), default="其他")
    received_on: Mapped[date] = mapped_column(Date, index=True)
    callback_due: Mapped[date] = mapped_column(Date)
    rectify_due: Mapped[date] = mapped_column(Date)
    called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    follow_up: Mapped[str] = mapped_column(String(16), default="")
    #: Whose word the follow-up is: ``citizen`` (answered on the tracking page) or ``callback``
    #: (a staff member's note of what the citizen said on the phone).
    follow_up_by: Mapped[str] = mapped_column(String(16), default="", server_default="")
    #: Copied when the case opens and stamped when it is called back or replied to, so the
    #: monthly metrics count them in SQL (named: the review was 实名).
    named: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    called_back_on_time: Mapped[bool] = mapped_column(Boolean, default=False,
                                                      server_default=false())
    replied_on_time: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reply_text: Mapped[str] = mapped_column(Text, default="")
    appeal_reason: Mapped[str] = mapped_column(Text, default="")
    appeal_upheld: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    review: Mapped[Review] = relationship(lazy="joined")
    org: Mapped[Org] = relationship(lazy="joined")


class ReviewTracking(Base):
    """A link a rater follows to see what became of a rating and to answer 满意/不满意.

    Only a keyed hash of the link's token is stored, so the table gives no link away. The
    rating page issues one (``channel`` ``page``); a reply texted to the rater issues another
    (``sms``). ``phone_checked`` records that the rater proved the phone by an SMS code.
    """

    __tablename__ = "review_tracking"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                           ForeignKey("review.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="page")
    phone_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    review: Mapped[Review] = relationship(lazy="joined")


class PhoneCode(Base):
    """An SMS code sent to prove a rater's phone (where SMS is configured): the phone and the
    code are kept only as keyed hashes; a code expires, and dies after too many wrong tries."""

    __tablename__ = "phone_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_key: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HandledCase(Base):
    """One case a department finished (办件), from the provincial system's case export.

    It lets the optional default-rating policy find cases nobody rated: after the configured
    number of days such a case gets a level-5 rating marked ``is_default``, which the metrics
    count apart from real ratings. ``default_review_id`` records that it was given one.
    """

    __tablename__ = "handled_case"
    __table_args__ = (UniqueConstraint("org_id", "case_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    case_no: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[str] = mapped_column(String(16))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    source: Mapped[str] = mapped_column(String(200), default="")
    default_review_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("review.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewCount(Base):
    """How many counted reviews (not voided) an org has per month, level and kind (real or
    default rating): kept by every change to ``review`` so the monthly metrics read a few
    hundred rows instead of grouping millions (``service.counts.count_reviews``)."""

    __tablename__ = "review_count"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    is_default: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    reviews: Mapped[int] = mapped_column(Integer, default=0)


class HandledCount(Base):
    """How many cases (办件) an org handled in a month: the denominator of 主动评价率, as the
    province's platform reports it. Reviews keep it here and write it to the assessment once,
    with the month's other review metrics (``service.rates.record_metrics``)."""

    __tablename__ = "handled_count"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
