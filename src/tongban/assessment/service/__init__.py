"""Assessment operations: schemes, metric values, adjustments, score sheets and the sheet read
model, one module per subject:

- ``schemes``: loading, listing, choosing and diffing scheme versions;
- ``values``: metric values (the one way a feeder or an import writes a number);
- ``adjustments``: 加扣分 events;
- ``sheets``: computing, publishing and correcting score sheets, their lines and explanations;
- ``views``: the read model every report, page and analysis reads (``SheetView``, ``SheetRow``);
- ``status``: where each cohort's months stand (the analyst's home).

Feeders (reviews, rectification, errands, imports) write only through
:func:`record_metric_values` and :func:`record_adjustment`; nothing else writes these tables.
Callers use the names re-exported here (``from tongban.assessment import service``).
"""

from __future__ import annotations

from tongban.assessment.service.adjustments import (
    ADJUSTMENTS,
    list_adjustments,
    record_adjustment,
    void_adjustment,
)
from tongban.assessment.service.schemes import (
    SCHEMES,
    diff,
    get_scheme,
    list_schemes,
    load_scheme,
    scheme_definition,
    scheme_for,
)
from tongban.assessment.service.sheets import (
    allowed_sheet_actions,
    cohort_names,
    cohort_periods,
    compute_scores,
    compute_sheet,
    correct_sheet,
    current_sheet,
    drafts_before,
    explanation,
    get_cohort,
    home_cohort,
    latest_sheet_of,
    line_item,
    line_of,
    line_values,
    previous_ranks,
    publish_sheet,
    published_sheet,
    require_sheet,
    sheet_hash,
    sheet_periods,
    sheets_of,
    visible_lines,
)
from tongban.assessment.service.status import (
    MonthStatus,
    data_status,
)
from tongban.assessment.service.values import (
    MetricInput,
    declare_imported,
    imported_metrics,
    known_metrics,
    metric_values,
    record_metric_values,
)
from tongban.assessment.service.views import (
    LossProjection,
    SheetAdjustment,
    SheetRow,
    SheetView,
    latest_view_of,
    project_losses,
    read_sheet,
    read_sheets,
    view_of,
)
from tongban.core import audit

audit.name_objects({"scheme": "考核方案", "score_sheet": "成绩单", "metric_value": "数据项",
                    "adjustment": "加扣分", "import_batch": "考核数据导入"})

__all__ = [
    "ADJUSTMENTS",
    "SCHEMES",
    "LossProjection",
    "MetricInput",
    "MonthStatus",
    "SheetAdjustment",
    "SheetRow",
    "SheetView",
    "allowed_sheet_actions",
    "cohort_names",
    "cohort_periods",
    "compute_scores",
    "compute_sheet",
    "correct_sheet",
    "current_sheet",
    "data_status",
    "declare_imported",
    "diff",
    "drafts_before",
    "explanation",
    "get_cohort",
    "get_scheme",
    "home_cohort",
    "imported_metrics",
    "known_metrics",
    "latest_sheet_of",
    "latest_view_of",
    "line_item",
    "line_of",
    "line_values",
    "list_adjustments",
    "list_schemes",
    "load_scheme",
    "metric_values",
    "previous_ranks",
    "project_losses",
    "publish_sheet",
    "published_sheet",
    "read_sheet",
    "read_sheets",
    "record_adjustment",
    "record_metric_values",
    "require_sheet",
    "scheme_definition",
    "scheme_for",
    "sheet_hash",
    "sheet_periods",
    "sheets_of",
    "view_of",
    "visible_lines",
    "void_adjustment",
]
