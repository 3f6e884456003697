"""Where commands write: the consoles, and ``--json`` or a human rendering."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from tongban.core.listing import Page

console = Console()
err_console = Console(stderr=True)


def emit(as_json: bool, payload: Any, human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str, indent=2) + "\n")
    else:
        human()


def emit_page(as_json: bool, page: Page[Any], human: Callable[[], None]) -> None:
    """A list: with ``--json`` the API's envelope (``items``, ``total``, ``page``,
    ``page_size``); else ``human``, then which page this is when there are more."""
    if as_json:
        emit(True, {"items": page.items, "total": page.total, "page": page.page,
                    "page_size": page.page_size}, human)
        return
    human()
    if page.pages > 1:
        console.print(f"第 {page.page}/{page.pages} 页，共 {page.total} 条（--page 翻页）")
