"""Domain errors: raised by services, turned into HTTP statuses and CLI messages at the edge.

Messages are Simplified Chinese because users read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"第{self.row}行")
        if self.column:
            where.append(f"「{self.column}」列")
        prefix = " ".join(where)
        return f"{prefix}：{self.reason}" if prefix else self.reason

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class ValidationFailed(DomainError):
    """Input rejected as a whole; ``errors`` says where and why."""

    errors: list[RowError] = field(default_factory=list)
    summary: str = "输入有误"

    status_code = 422

    def __post_init__(self) -> None:
        DomainError.__init__(self, self.summary)

    def __str__(self) -> str:
        lines = [self.summary, *(f"  - {e}" for e in self.errors)]
        return "\n".join(lines)


class AuthenticationFailed(DomainError):
    """Wrong credentials, or no credentials where they are required."""

    status_code = 401
