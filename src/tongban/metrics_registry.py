"""Imports every feeder's metric declarations, so that the assessment knows them all: the
entry points (``app``, ``cli``, the tests) import this module as they import every model."""

from __future__ import annotations

import tongban.benchmark.metrics
import tongban.datasharing.metrics
import tongban.errand.metrics
import tongban.ledger.metrics
import tongban.rectification.metrics
import tongban.reviews.metrics  # noqa: F401
from tongban.assessment.metrics import registry_complete

registry_complete()
