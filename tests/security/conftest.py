"""The security tests share the end-to-end fixtures (a live server and Debian's chromium) and a
clock for the rate limits."""

from datetime import datetime

import pytest

from tests.e2e.conftest import chromium_path, live_database, live_server, page

__all__ = ["chromium_path", "live_database", "live_server", "page"]


@pytest.fixture
def one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rate limits count per fixed window (a clock minute, a quarter hour): keep a test inside
    one, whenever it runs."""
    from tongban.core import ratelimit

    moment = datetime.now().astimezone().replace(minute=7, second=30, microsecond=0)
    monkeypatch.setattr(ratelimit, "utcnow", lambda: moment)
