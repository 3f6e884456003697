"""Imports every feeder's metric declarations so that the assessment knows them all
(``assessment.metrics.declared`` reads this module the first time it is asked)."""

from __future__ import annotations

import tongban.benchmark.metrics
import tongban.errand.metrics
import tongban.rectification.metrics
import tongban.reviews.metrics  # noqa: F401
