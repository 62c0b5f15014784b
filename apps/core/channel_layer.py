"""The Redis channel layer with a bounded pool that waits instead of failing.

redis-py 8's asyncio ``ConnectionPool`` defaults to 100 connections and raises
``MaxConnectionsError`` at once when they are all busy. When hundreds of desktop sockets close
together (a Daphne restart, a network blip), their ``group_discard`` calls ran out of connections:
401 of 500 failed and left dead channels in the groups, which every later event kept feeding.
channels-redis has no setting for the pool class, so this subclass builds a
``BlockingConnectionPool``: at most ``max_connections`` per event loop, and a caller waits up to
``pool_timeout`` seconds for one instead of failing.
"""
from __future__ import annotations

from channels_redis.core import RedisChannelLayer
from redis.asyncio import BlockingConnectionPool

DEFAULT_MAX_CONNECTIONS = 50
DEFAULT_POOL_TIMEOUT = 20


class BoundedRedisChannelLayer(RedisChannelLayer):
    def create_pool(self, index: int) -> BlockingConnectionPool:
        host = dict(self.hosts[index])
        address = host.pop("address")
        max_connections = host.pop("max_connections", DEFAULT_MAX_CONNECTIONS)
        timeout = host.pop("pool_timeout", DEFAULT_POOL_TIMEOUT)
        return BlockingConnectionPool.from_url(address, max_connections=max_connections, timeout=timeout, **host)
