"""跑团代办 operations, one module per subject (the only place that writes the errand tables):

- ``common``: who the public requester and a channel are, the refusals a grab can meet;
- ``zones``: items, zones (their seats and modes) and runners;
- ``requests``: a request from the public page, from staff or a third party's API;
- ``reads``: the errands an actor may see, a tracking link's errand;
- ``pool``: which runner may take which errand, the nearby pool;
- ``grab``: the race for an open errand (exactly one wins);
- ``lifecycle``: every other step, with its custody hand-over, on the one workflow helper;
- ``console``: what the dispatcher console shows staff;
- ``keys``: the requester's phone under the newest data key.

Who may do what is one check per errand (``lifecycle.ERRAND_FLOW``), behind every write and
behind :func:`allowed_actions`. A runner sees its own errands and the pool it is eligible for; a
liaison the errands of the zones in its org's subtree; city-wide roles all of them. The live
dispatcher's own reads and writes are in ``errand.dispatcher``. Callers use the names
re-exported here (``from tongban.errand import service``).
"""

from __future__ import annotations

from tongban.core import audit
from tongban.errand.service.common import (
    DISPATCHER,
    MAX_ZONE_KM,
    POOL_LIMIT,
    REQUESTER,
    NotEligible,
    Taken,
    channel_actor,
    limit_client,
)
from tongban.errand.service.console import (
    Console,
    ConsoleZone,
    Kpis,
    console,
)
from tongban.errand.service.grab import (
    Grabbed,
    grab,
)
from tongban.errand.service.keys import (
    rotate_personal_data,
    unreadable_personal_data,
)
from tongban.errand.service.lifecycle import (
    alert_waiting,
    allowed_actions,
    assign,
    assignable,
    assignable_runners,
    expire_offers,
    rate_tracked,
    release_offers,
    require_action,
    return_documents,
    set_duty,
    to_review,
    transition,
    waiting_since,
    withdraw_tracked,
)
from tongban.errand.service.pool import (
    eligibility,
    eligible_runners,
    near,
    pool,
)
from tongban.errand.service.reads import (
    CALLABLE,
    ERRANDS,
    contact_phone,
    get_errand,
    holder,
    list_errands,
    track_path,
    tracked,
)
from tongban.errand.service.requests import (
    IdempotencyKeyReused,
    Placement,
    Request,
    Submitted,
    due_at,
    place,
    submit,
    submit_public,
    towns,
)
from tongban.errand.service.zones import (
    RUNNERS,
    active_items,
    city_centre,
    get_runner,
    list_runners,
    record_position,
    register_runner,
    runner_of,
    set_zone_mode,
    zone_modes,
    zone_of,
    zones,
)

audit.name_objects({"errand": "代办", "errand_runner": "跑手"})

__all__ = [
    "CALLABLE",
    "DISPATCHER",
    "ERRANDS",
    "MAX_ZONE_KM",
    "POOL_LIMIT",
    "REQUESTER",
    "RUNNERS",
    "Console",
    "ConsoleZone",
    "Grabbed",
    "IdempotencyKeyReused",
    "Kpis",
    "NotEligible",
    "Placement",
    "Request",
    "Submitted",
    "Taken",
    "active_items",
    "alert_waiting",
    "allowed_actions",
    "assign",
    "assignable",
    "assignable_runners",
    "channel_actor",
    "city_centre",
    "console",
    "contact_phone",
    "due_at",
    "eligibility",
    "eligible_runners",
    "expire_offers",
    "get_errand",
    "get_runner",
    "grab",
    "holder",
    "limit_client",
    "list_errands",
    "list_runners",
    "near",
    "place",
    "pool",
    "rate_tracked",
    "record_position",
    "register_runner",
    "release_offers",
    "require_action",
    "return_documents",
    "rotate_personal_data",
    "runner_of",
    "set_duty",
    "set_zone_mode",
    "submit",
    "submit_public",
    "to_review",
    "towns",
    "track_path",
    "tracked",
    "transition",
    "unreadable_personal_data",
    "waiting_since",
    "withdraw_tracked",
    "zone_modes",
    "zone_of",
    "zones",
]
