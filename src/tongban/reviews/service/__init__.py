"""好差评 operations: intake (API, rating page, bulk files), 差评 cases, metrics.

The only place that writes the reviews domain's tables, one module per concern:

- ``intake``: ratings coming in (public, batch, provincial export), held repeats, rejects
  files, the personal data they carry; ``checks`` are the checks every rating passes and
  ``bulk`` the set-based import of a CSV export on PostgreSQL; ``exchange`` the dialect of
  records in the provincial 办件评价 interface's field names and the deptCode → org map;
- ``counts``: the monthly counts every metric reads;
- ``handled``: handled cases (办件) and their default ratings;
- ``codes``: rating links and QR codes;
- ``links``, ``tracking`` and ``phones``: a rater's tracking link, what the rater sees there
  and answers (满意/不满意), the SMS code that proves a rater's phone;
- ``cases``: 差评 cases and their workflow;
- ``rates``: the review metrics and their metric values;
- ``reads``: the ratings an actor may see, counts between two days, the dashboard;
- ``access``: who may use 好差评.

Callers use the functions re-exported here (``from tongban.reviews import service``).
"""

from __future__ import annotations

from tongban.core import audit
from tongban.reviews.service.cases import (
    CASES,
    REPLY_TEMPLATES,
    SATISFIED_NEEDS_WORD,
    act,
    allowed_actions,
    get_case,
    is_callback_overdue,
    is_overdue,
    is_rectify_overdue,
    list_cases,
    next_due,
    phone_for,
    reply_template,
    reply_templates,
    supervision_kinds,
    supervision_targets,
    visible_cases,
)
from tongban.reviews.service.codes import LINK_CHANNELS, RatingCode, rating_code, rating_orgs
from tongban.reviews.service.exchange import (
    DEPT_CODES,
    dept_codes,
    map_dept_code,
    repeat_raters,
)
from tongban.reviews.service.handled import (
    HANDLED_ALIASES,
    HandledImport,
    apply_default_ratings,
    import_handled_cases,
    record_cases_handled,
    set_cases_handled,
)
from tongban.reviews.service.intake import (
    CHUNK,
    HELD_REVIEWS,
    HOLD_COUNTED,
    HOLD_DISCARDED,
    HOLD_HELD,
    IntakeResult,
    held_count,
    held_reviews,
    import_reviews,
    open_rejects,
    record_errand_rating,
    remove_old_rejects,
    resolve_held_review,
    rotate_personal_data,
    submit_batch,
    submit_review,
    unreadable_personal_data,
)
from tongban.reviews.service.links import track_path
from tongban.reviews.service.phones import remove_old_phone_codes, send_phone_code
from tongban.reviews.service.rates import (
    metrics,
    metrics_by_org,
    record_metrics,
)
from tongban.reviews.service.reads import (
    REVIEWS,
    counts_between,
    dashboard,
    list_reviews,
    tagged_negative_items,
)
from tongban.reviews.service.tracking import CITIZEN, Tracking, answer_as_rater, tracking_of

audit.name_objects({"review": "评价", "negative_case": "差评工单", "review_batch": "评价批次",
                    "review_import": "评价导入", "handled_case": "办件明细",
                    "handled_count": "办件量"})

__all__ = [
    "CASES",
    "CHUNK",
    "CITIZEN",
    "DEPT_CODES",
    "HANDLED_ALIASES",
    "HELD_REVIEWS",
    "HOLD_COUNTED",
    "HOLD_DISCARDED",
    "HOLD_HELD",
    "LINK_CHANNELS",
    "REPLY_TEMPLATES",
    "REVIEWS",
    "SATISFIED_NEEDS_WORD",
    "HandledImport",
    "IntakeResult",
    "RatingCode",
    "Tracking",
    "act",
    "allowed_actions",
    "answer_as_rater",
    "apply_default_ratings",
    "counts_between",
    "dashboard",
    "dept_codes",
    "get_case",
    "held_count",
    "held_reviews",
    "import_handled_cases",
    "import_reviews",
    "is_callback_overdue",
    "is_overdue",
    "is_rectify_overdue",
    "list_cases",
    "list_reviews",
    "map_dept_code",
    "metrics",
    "metrics_by_org",
    "next_due",
    "open_rejects",
    "phone_for",
    "rating_code",
    "rating_orgs",
    "record_cases_handled",
    "record_errand_rating",
    "record_metrics",
    "remove_old_phone_codes",
    "remove_old_rejects",
    "repeat_raters",
    "reply_template",
    "reply_templates",
    "resolve_held_review",
    "rotate_personal_data",
    "send_phone_code",
    "set_cases_handled",
    "submit_batch",
    "submit_review",
    "supervision_kinds",
    "supervision_targets",
    "tagged_negative_items",
    "track_path",
    "tracking_of",
    "unreadable_personal_data",
    "visible_cases",
]
