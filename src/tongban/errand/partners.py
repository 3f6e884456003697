"""The partners of the third-party channels (美团 / 饿了么 / 邮政): what Tongban asks of each (one
adapter interface: place an order, cancel it), which ones are configured, and the calls to them,
which leave through the outbox after the step that asked for them commits.

The lifecycle (``service.lifecycle``) and the channels' hand-over and callbacks
(``errand.channels``) both use this module; it uses neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from tongban.core import outbox
from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.errand.enums import PartnerChannel
from tongban.errand.models import Errand


class ChannelAdapter(Protocol):
    """What Tongban asks of a partner: place an order for an errand, and cancel it. Both are
    called from the outbox, after the step that asked for them committed, with no transaction
    open; both are idempotent on the merchant order number."""

    code: PartnerChannel

    def create_order(self, *, merchant_no: str, errand_id: int) -> None:
        """Place the partner's order under our merchant order number ``tongban-<errand id>``
        (the number its callbacks name as ``order_id``)."""
        ...

    def cancel_order(self, *, merchant_no: str, reason: str) -> None:
        """Cancel the partner's order."""
        ...


@dataclass
class SimulatedAdapter:
    """A partner in the same process (demo and tests): the orders it holds and cancelled, by
    merchant order number, to look at."""

    code: PartnerChannel = PartnerChannel.simulated
    orders: dict[str, int] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)

    def create_order(self, *, merchant_no: str, errand_id: int) -> None:
        self.orders[merchant_no] = errand_id

    def cancel_order(self, *, merchant_no: str, reason: str) -> None:
        self.cancelled.add(merchant_no)


#: The adapter of each channel that has one (the partners' own APIs are still to come).
SIMULATED = SimulatedAdapter()
_ADAPTERS: dict[PartnerChannel, ChannelAdapter] = {PartnerChannel.simulated: SIMULATED}


def configured() -> dict[PartnerChannel, ChannelAdapter]:
    """The channels staff may hand errands to, from the settings (see the module's text)."""
    settings = get_settings()
    codes = [c.strip() for c in settings.errand_channels.split(",") if c.strip()]
    if not settings.errand_channels.strip():
        codes = [] if settings.is_production else [PartnerChannel.simulated.value]
    found: dict[PartnerChannel, ChannelAdapter] = {}
    for code in codes:
        if code not in PartnerChannel.__members__:
            raise DomainError(f"TONGBAN_ERRAND_CHANNELS 中的渠道「{code}」不存在")
        channel = PartnerChannel(code)
        if channel not in _ADAPTERS:
            raise DomainError(f"渠道「{channel.label}」尚未接入，不能配置")
        found[channel] = _ADAPTERS[channel]
    return found


def offered() -> list[PartnerChannel]:
    """The channels the pages offer staff: only those named in ``TONGBAN_ERRAND_CHANNELS``
    (the simulated one, answering outside production when none is named, is for tests and
    trials and is never shown unless named)."""
    named = {c.strip() for c in get_settings().errand_channels.split(",") if c.strip()}
    return [c for c in configured() if c.value in named]


def merchant_no(errand: Errand) -> str:
    """Our order number of an errand at a partner (its callbacks name it as ``order_id``)."""
    return f"tongban-{errand.id}"


def place_order(db: Session, *, channel: PartnerChannel, errand: Errand) -> None:
    """Queue the partner's order of ``errand`` under our merchant order number (it leaves
    after the hand-over commits)."""
    number = merchant_no(errand)
    outbox.enqueue(db, kind="partner.order", key=f"partner.order:{channel.value}:{number}",
                   summary=f"{channel.label}下单：代办 #{errand.id}",
                   payload={"channel": channel.value, "merchant_no": number,
                            "errand_id": errand.id})


def cancel_order(db: Session, *, errand: Errand, reason: str) -> None:
    """Queue the cancel of the partner's order of an errand staff cancel (the cancel step
    calls it; the call leaves after the step commits)."""
    if errand.channel_code is None or errand.channel_order_id is None:
        return
    channel = PartnerChannel(errand.channel_code)
    if channel not in _ADAPTERS:
        raise DomainError("该渠道尚未接入，无法取消其订单")
    outbox.enqueue(db, kind="partner.cancel",
                   key=f"partner.cancel:{channel.value}:{errand.channel_order_id}",
                   summary=f"{channel.label}取消订单：代办 #{errand.id}",
                   payload={"channel": channel.value, "merchant_no": errand.channel_order_id,
                            "reason": reason})


@outbox.handler("partner.order", "第三方跑腿下单")
def _place_order(payload: dict[str, Any]) -> None:
    _ADAPTERS[PartnerChannel(payload["channel"])].create_order(
        merchant_no=payload["merchant_no"], errand_id=payload["errand_id"])


@outbox.handler("partner.cancel", "第三方跑腿取消订单")
def _cancel_order(payload: dict[str, Any]) -> None:
    _ADAPTERS[PartnerChannel(payload["channel"])].cancel_order(
        merchant_no=payload["merchant_no"], reason=payload["reason"])
