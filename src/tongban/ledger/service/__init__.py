"""专项台账 operations, one module per subject (the only place that writes its tables):

- ``types``: ledger types loaded from YAML (versioned), the shipped ones, access;
- ``items``: a type's items imported;
- ``entries``: the orgs a type requires, entries read, updated (workflow), imported, evidence,
  rectification of an overdue entry;
- ``progress``: monthly figures, each org's status, the board, the metric values;
- ``records``: each org's 权责清单 and its staff's law-enforcement exam results;
- ``commitments``: 季调度 commitments checked against the next quarter's sheet (the memo);
- ``supervision``: 互联网+监管 indicators by lead department, worst first, reminders.

Callers use the names re-exported here (``from tongban.ledger import service``).
"""

from __future__ import annotations

from tongban.ledger.service.commitments import Check, memo, next_quarter
from tongban.ledger.service.entries import (
    ENTRY_COLUMNS,
    EntryInput,
    EntryView,
    active_items,
    add_attachment,
    allowed_moves,
    entry_columns,
    entry_view,
    get_attachment,
    import_entries,
    may_edit,
    may_see,
    open_rectification,
    org_entries,
    required_orgs,
    save_entry,
    update_entry,
    workflow_of,
)
from tongban.ledger.service.items import ITEM_COLUMNS, import_items
from tongban.ledger.service.progress import (
    FIGURE_COLUMNS,
    OrgStatus,
    board,
    city_count,
    import_figures,
    record_metrics,
    status,
    status_dicts,
)
from tongban.ledger.service.records import (
    EXAM_COLUMNS,
    LIST_COLUMNS,
    import_exams,
    import_lists,
    org_records,
)
from tongban.ledger.service.supervision import (
    SUPERVISION,
    Standing,
    indicator,
    indicators,
    leads,
    remind_laggards,
    supervise,
)
from tongban.ledger.service.types import (
    Loaded,
    current_type,
    list_types,
    load_shipped_types,
    load_type,
    require_ledger_area,
    shipped_texts,
)

__all__ = [
    "ENTRY_COLUMNS",
    "EXAM_COLUMNS",
    "FIGURE_COLUMNS",
    "ITEM_COLUMNS",
    "LIST_COLUMNS",
    "SUPERVISION",
    "Check",
    "EntryInput",
    "EntryView",
    "Loaded",
    "OrgStatus",
    "Standing",
    "active_items",
    "add_attachment",
    "allowed_moves",
    "board",
    "city_count",
    "current_type",
    "entry_columns",
    "entry_view",
    "get_attachment",
    "import_entries",
    "import_exams",
    "import_figures",
    "import_items",
    "import_lists",
    "indicator",
    "indicators",
    "leads",
    "list_types",
    "load_shipped_types",
    "load_type",
    "may_edit",
    "may_see",
    "memo",
    "next_quarter",
    "open_rectification",
    "org_entries",
    "org_records",
    "record_metrics",
    "remind_laggards",
    "require_ledger_area",
    "required_orgs",
    "save_entry",
    "shipped_texts",
    "status",
    "status_dicts",
    "supervise",
    "update_entry",
    "workflow_of",
]
