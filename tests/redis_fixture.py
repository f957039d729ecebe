"""A real ``redis-server`` for the tests that need one.

Import the fixtures into a test module (``from tests.redis_fixture import redis_server, redis_url``).
Without ``redis-server`` those tests skip on a developer's machine, and fail under ``CI=true``:
CI installs it, so a missing binary there is a broken setup, not a reason to skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lesson_app.redis_server import RedisServer, redis_server_binary


def require_redis_server() -> None:
    if redis_server_binary() is not None:
        return
    message = "redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must install it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One ``redis-server`` per test module, on a free loopback port, saving nothing."""
    require_redis_server()
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The module's Redis, emptied for this test (restarted first if a test stopped it)."""
    import redis

    if not redis_server.ping():
        redis_server.restart()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url
