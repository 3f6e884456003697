"""A command's service call: a committed session, and domain errors as a Chinese message
with exit code 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from tongban.cli.output import emit, err_console
from tongban.core.db import session_scope
from tongban.core.errors import DomainError, ValidationFailed


@contextmanager
def service_call() -> Iterator[Session]:
    """A committed session; domain errors become a Chinese message and exit code 1."""
    with refusals(), session_scope() as db:
        yield db


@contextmanager
def refusals() -> Iterator[None]:
    """Domain errors as a Chinese message (a refused file's errors grouped) and exit code 1."""
    try:
        yield
    except ValidationFailed as exc:
        err_console.print(f"[red]错误：{exc.summary}[/red]")
        for line in exc.errors.lines():
            err_console.print(f"  - {line}", markup=False, highlight=False)
        raise typer.Exit(1) from exc
    except DomainError as exc:
        err_console.print(f"[red]错误：{exc.message}[/red]")
        raise typer.Exit(1) from exc


@contextmanager
def json_row_errors(as_json: bool, empty: dict[str, int]) -> Iterator[None]:
    """With ``--json``, a refused file prints ``empty``, the summary (``detail``) and its
    errors grouped by kind (``errors``, ``error_count``, ``more_errors``), and exits 1."""
    try:
        yield
    except ValidationFailed as exc:
        if not as_json:
            raise
        emit(True, {**empty, "detail": exc.summary, **exc.errors.as_dict()}, lambda: None)
        raise typer.Exit(1) from exc
