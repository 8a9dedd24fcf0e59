"""The HTTP API's rate limit counted in Redis (``redis_url``), shared by every replica.

The same token bucket as ``RateLimit`` (``per_minute`` requests, refilled evenly), kept as
one Redis hash per API token and changed by one Lua script: Redis runs a script alone,
so two replicas spending the same token's budget at once never both take its last
request, and the script reads Redis's own clock, so the replicas' clocks do not matter.
"""

from __future__ import annotations

from typing import Any

import redis

from app.http.errors import ApiError

# KEYS[1] the bucket; ARGV capacity and refill per second. Returns the seconds to wait
# (0: the request may go ahead and its token was spent).
_TAKE = """
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or capacity)
local since = tonumber(redis.call('HGET', KEYS[1], 'since') or now)
level = math.min(capacity, level + math.max(0, now - since) * refill)
local wait = 0
if level < 1 then
  wait = math.ceil((1 - level) / refill)
else
  level = level - 1
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'since', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / refill) + 1)
return wait
"""
_PREFIX = "docent:rate:"


class RedisRateLimit:
    """A token bucket per API token, in Redis.

    Args:
        url: ``redis://[user:password@]host[:port][/db]`` (``rediss://`` for TLS).
        per_minute: Requests allowed per minute (also the burst).
    """

    def __init__(self, url: str, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.client: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._take = self.client.register_script(_TAKE)

    def take(self, key: str) -> None:
        """Spend one request of ``key``.

        Raises:
            ApiError: 429 with ``Retry-After`` when the bucket is empty; 503 when Redis
                cannot be reached (no request goes uncounted).
        """
        try:
            wait = int(self._take(keys=[_PREFIX + key], args=[self.capacity, self.refill]))
        except redis.RedisError as error:
            raise ApiError(
                503,
                f"The rate limit cannot be counted: Redis did not answer ({error}).",
                hint="check `redis_url` and that Redis is running",
            ) from None
        if wait:
            raise ApiError(
                429,
                "Too many requests with this API token.",
                hint=f"wait {wait} s, or ask for a higher `api_rate_per_minute`",
                headers={"Retry-After": str(wait)},
            )
