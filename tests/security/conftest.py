"""The security tests share the end-to-end fixtures: a live server and Debian's chromium."""

from tests.e2e.conftest import chromium_path, live_database, live_server, page

__all__ = ["chromium_path", "live_database", "live_server", "page"]
