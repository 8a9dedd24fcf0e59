"""The HTTP API's rate limit in Redis (``redis_url``): one budget per token across replicas.

A real ``redis-server`` (Debian's ``redis-server``) runs on a loopback port, with no
persistence, for the module; the last test puts two API replicas on it and on one
PostgreSQL (``state_url``), as a cluster runs them.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from app.api import Docent
from app.http.errors import ApiError
from app.http.rate_redis import RedisRateLimit
from app.settings import Settings
from tests import postgres_server, system
from tests.http_setup import bearer, client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    system.require(Path("/usr/bin/redis-server"), "redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        ["/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(30)


def test_two_replicas_share_one_budget_per_token(redis_url: str) -> None:
    one, two = RedisRateLimit(redis_url, 3), RedisRateLimit(redis_url, 3)
    one.take("aaaaaaaaaaaa")
    two.take("aaaaaaaaaaaa")
    one.take("aaaaaaaaaaaa")
    with pytest.raises(ApiError) as refused:
        two.take("aaaaaaaaaaaa")
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "20"  # 3 a minute: one every 20 s
    two.take("bbbbbbbbbbbb")  # another token's budget is its own


def test_the_budget_refills_evenly(redis_url: str) -> None:
    limit = RedisRateLimit(redis_url, 60)  # one a second
    for _ in range(60):
        limit.take("cccccccccccc")
    with pytest.raises(ApiError):
        limit.take("cccccccccccc")
    time.sleep(1.1)
    limit.take("cccccccccccc")


def test_an_unreachable_redis_refuses_rather_than_counting_nothing(redis_url: str) -> None:
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert str(closed) != port
    with pytest.raises(ApiError, match="Redis did not answer") as refused:
        RedisRateLimit(f"redis://127.0.0.1:{closed}/0", 60).take("dddddddddddd")
    assert refused.value.status == 503


def test_two_api_replicas_share_tokens_and_their_budget(tmp_path: Path, redis_url: str) -> None:
    with postgres_server.postgres() as server:
        state_url = postgres_server.fresh_database(server)
        replicas = [
            Docent(
                Settings(
                    data_dir=tmp_path / name,
                    state_url=f"{state_url}?application_name={name}",
                    redis_url=redis_url,
                    api_rate_per_minute=3,
                )
            )
            for name in ("one", "two")
        ]
        replicas[0].add_user("gina", "correct horse")
        secret, _ = replicas[1].create_token("gina", "rota", timedelta(hours=1))
        with client(replicas[0]) as one, client(replicas[1]) as two:
            answers = [
                http.get("/api/v1/jobs", headers=bearer(secret)).status_code
                for http in (one, two, one, two)
            ]
    assert answers == [200, 200, 200, 429]
