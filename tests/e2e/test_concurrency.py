"""The live server under concurrent requests: no request waits on a commit that cannot run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx


def test_fifty_citizens_rating_at_once_are_all_stored(live_server: str) -> None:
    def rate(n: int) -> int:
        body = {"source_id": f"burst{n:03d}", "channel": "窗口", "org": "巴州区",
                "case_no": f"BURST{n:03d}", "level": 5 if n % 10 else 1,
                "tags": ["办事效率"] if n % 10 == 0 else []}
        return httpx.post(f"{live_server}/api/v1/reviews", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(rate, range(50)))
    assert codes == [201] * 50


def test_pages_answer_while_ratings_are_written(live_server: str) -> None:
    def rate(n: int) -> int:
        body = {"source_id": f"mixed{n:03d}", "channel": "网站", "org": "巴州区",
                "case_no": f"MIXED{n:03d}", "level": 4}
        return httpx.post(f"{live_server}/api/v1/reviews", json=body, timeout=30).status_code

    def read(_: int) -> int:
        return httpx.get(f"{live_server}/rate?org=巴州区", timeout=30).status_code

    with ThreadPoolExecutor(max_workers=60) as pool:
        writes = pool.map(rate, range(30))
        reads = pool.map(read, range(30))
        assert list(writes) == [201] * 30 and list(reads) == [200] * 30


def test_every_response_carries_the_security_headers(live_server: str) -> None:
    for path in ("/healthz", "/login", "/api/v1/nowhere"):
        headers = httpx.get(f"{live_server}{path}", timeout=10).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
