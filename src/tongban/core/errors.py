"""Domain errors: raised by services, turned into HTTP statuses and CLI messages at the edge.

Messages are Simplified Chinese because users read them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from tongban.core.config import get_settings


class DomainError(Exception):
    """A refusal a user can act on; ``message`` is shown as is."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object does not exist or is outside the caller's scope (never tell which)."""

    status_code = 404


class PermissionDenied(DomainError):
    """The caller's role may not do this."""

    status_code = 403


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, illegal transition)."""

    status_code = 409


class TooManyRequests(DomainError):
    """Throttled, e.g. after repeated failed logins."""

    status_code = 429


@dataclass(frozen=True)
class RowError:
    """One problem in an input file, located for the user."""

    row: int | None
    column: str | None
    reason: str
    file: str | None = None


#: Runs of consecutive rows kept per group; the group's further rows are only counted.
RUNS_KEPT = 10


@dataclass
class ErrorGroup:
    """Errors of one kind (one reason, in one column of one file) with the rows they are on.

    Rows are kept as runs of consecutive rows, at most :data:`RUNS_KEPT` of them; ``count``
    counts them all.
    """

    file: str | None
    column: str | None
    reason: str
    count: int = 0
    runs: list[list[int]] = field(default_factory=list)

    def add(self, row: int | None) -> bool:
        """Count an error on ``row``; False when the group has it already (the same row)."""
        runs = self.runs
        if row is not None and runs and runs[-1][0] <= row <= runs[-1][1]:
            return False
        self.count += 1
        if row is None:
            return True
        if runs and runs[-1][1] + 1 == row:
            runs[-1][1] = row
        elif len(runs) < RUNS_KEPT:
            runs.append([row, row])
        return True

    @property
    def rows(self) -> list[int | list[int]]:
        """The rows as JSON gives them: a row number, or ``[first, last]`` for a run."""
        return [first if first == last else [first, last] for first, last in self.runs]

    @property
    def complete(self) -> bool:
        """Whether ``rows`` names every row of the group."""
        return sum(last - first + 1 for first, last in self.runs) >= self.count

    def where(self) -> str:
        """The rows in words: 第3、7、10–20行, with 等 when not all are named."""
        if not self.runs:
            return ""
        runs = "、".join(str(a) if a == b else f"{a}–{b}" for a, b in self.runs)
        return f"第{runs}行" + ("" if self.complete else "等")

    def __str__(self) -> str:
        place = (f"「{self.column}」列" if self.column else "") + self.where()
        if self.count > 1:
            place += f"，共{self.count}{'行' if self.runs else '处'}"
        return f"{self.reason}：{place}" if place else self.reason

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "rows": self.rows, "count": self.count,
                "column": self.column, "reason": self.reason}


class ErrorGroups:
    """The errors found in an input, grouped by kind as they are collected.

    At most ``limit`` groups are kept (the setting ``import_error_groups_max``), in the order
    their first error came; errors of further kinds are only counted (:attr:`unlisted`). So a
    file bad in every row costs a few hundred row numbers of memory, however long it is.
    """

    def __init__(self, errors: Iterable[RowError] = (), *, file: str | None = None,
                 limit: int | None = None) -> None:
        self.file = file
        self.limit = get_settings().import_error_groups_max if limit is None else limit
        self.count = 0
        self.unlisted = 0
        self._groups: dict[tuple[str | None, str | None, str], ErrorGroup] = {}
        self.extend(errors)

    def append(self, error: RowError) -> None:
        file = error.file or self.file
        key = (file, error.column, error.reason)
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= self.limit:
                self.count += 1
                self.unlisted += 1
                return
            group = self._groups[key] = ErrorGroup(file, error.column, error.reason)
        if group.add(error.row):
            self.count += 1

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.append(error)

    @property
    def groups(self) -> list[ErrorGroup]:
        return list(self._groups.values())

    def __iter__(self) -> Iterator[ErrorGroup]:
        return iter(self._groups.values())

    def __bool__(self) -> bool:
        return self.count > 0

    def lines(self) -> list[str]:
        """One line per group, then 另有 N 处错误 for those not listed."""
        more = [f"另有 {self.unlisted} 处错误"] if self.unlisted else []
        return [str(g) for g in self] + more

    def as_dict(self) -> dict[str, object]:
        """``errors`` (the groups), ``error_count`` and ``more_errors`` (those not listed)."""
        return {"errors": [g.as_dict() for g in self], "error_count": self.count,
                "more_errors": self.unlisted}


class ValidationFailed(DomainError):
    """Input rejected as a whole; ``errors`` says where and why, grouped by kind."""

    status_code = 422

    def __init__(self, *, errors: Iterable[RowError] | ErrorGroups = (),
                 summary: str = "输入有误") -> None:
        super().__init__(summary)
        self.summary = summary
        self.errors = errors if isinstance(errors, ErrorGroups) else ErrorGroups(errors)

    def __str__(self) -> str:
        return "\n".join([self.summary, *(f"  - {line}" for line in self.errors.lines())])

    @classmethod
    def of(cls, error: DomainError) -> ValidationFailed:
        """A refusal as a page's failure box shows it: the error itself when it lists rows,
        else its message as the summary."""
        return error if isinstance(error, ValidationFailed) else cls(summary=error.message)


class AuthenticationFailed(DomainError):
    """Wrong credentials, or no credentials where they are required."""

    status_code = 401


A = TypeVar("A")


def permitted(candidates: Iterable[A], check: Callable[[A], object]) -> frozenset[A]:
    """The candidates ``check`` does not refuse (raises no :class:`DomainError` for): how a
    service turns the one check behind its writes into the buttons a page shows."""
    allowed = set()
    for candidate in candidates:
        try:
            check(candidate)
        except DomainError:
            continue
        allowed.add(candidate)
    return frozenset(allowed)
