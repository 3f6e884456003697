"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from __future__ import annotations


def import_all_models() -> None:
    import tongban.assessment.models
    import tongban.benchmark.models
    import tongban.catalog.models
    import tongban.core.audit
    import tongban.core.notify
    import tongban.core.outbox
    import tongban.core.ratelimit
    import tongban.core.workdays
    import tongban.datasharing.models
    import tongban.errand.models
    import tongban.ledger.models
    import tongban.org.models
    import tongban.rectification.models
    import tongban.reports.models
    import tongban.reviews.models
    import tongban.supervision.models  # noqa: F401
