"""数据开放共享 operations, one module per subject (the only place that writes its tables):

- ``catalog``: the 数据资源目录 and its fields (import, export, pages), scoped reads;
- ``deliveries``: a delivery checked (``datasharing.checks``) and recorded;
- ``pulls``: datasets fetched from where their departments publish them (``sources``);
- ``quality``: freshness, use, each dataset's score and each department's rates, the
  monthly metric values;
- ``cascade``: the provincial platform: registrations and pushes through the outbox, the
  log of attempts, alerts, retries.

Callers use the names re-exported here (``from tongban.datasharing import service``).
"""

from __future__ import annotations

from tongban.datasharing.service.cascade import (
    CascadeView,
    PointsAtRisk,
    attempts,
    cascade_of,
    platform_url,
    points_at_risk,
    queue_push,
    queue_register,
    retry_failed,
    states,
    to_share,
)
from tongban.datasharing.service.catalog import (
    CATALOG_COLUMNS,
    DATASETS,
    FIELD_COLUMNS,
    DatasetInput,
    catalog_rows,
    departments_with_datasets,
    get_dataset,
    import_catalog,
    list_datasets,
    require_data_area,
    save_dataset,
    specs_of,
)
from tongban.datasharing.service.deliveries import Delivered, deliver, deliveries
from tongban.datasharing.service.pulls import Pulls, due_pulls, pull, pull_due
from tongban.datasharing.service.quality import (
    DatasetQuality,
    DepartmentQuality,
    Freshness,
    dataset_quality,
    department_quality,
    freshness,
    import_use,
    month_end,
    monthly_counts,
    rates,
    record_metrics,
)

__all__ = [
    "CATALOG_COLUMNS",
    "DATASETS",
    "FIELD_COLUMNS",
    "CascadeView",
    "DatasetInput",
    "DatasetQuality",
    "Delivered",
    "DepartmentQuality",
    "Freshness",
    "PointsAtRisk",
    "Pulls",
    "attempts",
    "cascade_of",
    "catalog_rows",
    "dataset_quality",
    "deliver",
    "deliveries",
    "department_quality",
    "departments_with_datasets",
    "due_pulls",
    "freshness",
    "get_dataset",
    "import_catalog",
    "import_use",
    "list_datasets",
    "month_end",
    "monthly_counts",
    "platform_url",
    "points_at_risk",
    "pull",
    "pull_due",
    "queue_push",
    "queue_register",
    "rates",
    "record_metrics",
    "require_data_area",
    "retry_failed",
    "save_dataset",
    "specs_of",
    "states",
    "to_share",
]
