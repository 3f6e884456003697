"""Command line: ``tongban serve | db | demo | user | org | calendar | audit``.

Commands call the same service functions as the API; they act as the system operator.
One module per command group, each thin; ``options``, ``output`` and ``session`` hold what
they share (option types, ``--json`` output, the service call and its refusals).
"""

from __future__ import annotations

import typer

import tongban.metrics_registry  # noqa: F401  (every feeder's metrics declared)
from tongban.cli.assess import assess_app
from tongban.cli.audit import audit_app
from tongban.cli.benchmark import benchmark_app
from tongban.cli.calendar import calendar_app
from tongban.cli.catalog import catalog_app
from tongban.cli.data import data_app
from tongban.cli.db import db_app
from tongban.cli.demo import demo_app
from tongban.cli.errand import errand_app
from tongban.cli.jobs import jobs_app
from tongban.cli.keys import keys_app
from tongban.cli.ledger import ledger_app, supervise
from tongban.cli.org import org_app
from tongban.cli.rectify import rectify_app
from tongban.cli.report import report_app
from tongban.cli.reviews import reviews_app
from tongban.cli.serve import serve_app
from tongban.cli.user import user_app

app = typer.Typer(
    help="通办 Tongban：政务服务能力提升平台的命令行。",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(serve_app)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
app.add_typer(calendar_app, name="calendar")
app.add_typer(audit_app, name="audit")
app.add_typer(assess_app, name="assess")
app.add_typer(rectify_app, name="rectify")
app.add_typer(jobs_app, name="jobs")
app.add_typer(reviews_app, name="reviews")
app.add_typer(report_app, name="report")
app.add_typer(keys_app, name="keys")
app.add_typer(catalog_app, name="catalog")
app.add_typer(benchmark_app, name="benchmark")
app.add_typer(errand_app, name="errand")
app.add_typer(data_app, name="data")
app.add_typer(ledger_app, name="ledger")
app.command("supervise")(supervise)
