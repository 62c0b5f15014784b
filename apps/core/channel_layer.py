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

import asyncio
import logging

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close
from redis import asyncio as aioredis
from redis.asyncio import BlockingConnectionPool

log = logging.getLogger(__name__)

DEFAULT_MAX_CONNECTIONS = 50
DEFAULT_POOL_TIMEOUT = 20


class BoundedRedisChannelLayer(RedisChannelLayer):
    def create_pool(self, index: int) -> BlockingConnectionPool:
        return _bounded_pool(self.hosts[index])


# ----- per-process fan-out ----------------------------------------------------------------------------
# channels-redis' core layer delivers a group message as one copy per member: 2,000 desktops in a group
# meant 2,000 serialised copies in Redis, then 2,000 pops by the web process, one round trip each
# (bench/sockets.py: fan-out p99 3.6 s). Its pub/sub layer publishes a group message once; each web
# process holds one subscription per group it has members in and hands the message to its local
# sockets. Membership lives in the process, so a socket that closes leaves nothing behind in Redis.
# This subclass keeps what the core layer above guarantees: a bounded pool (publishes and the
# subscription share one connection each per event loop anyway), Redis options as for the core layer,
# and bounded per-socket queues, so a stuck browser drops its own events instead of growing memory.
DEFAULT_CHANNEL_CAPACITY = 100


def _bounded_pool(host: dict) -> BlockingConnectionPool:
    host = dict(host)
    address = host.pop("address")
    max_connections = host.pop("max_connections", DEFAULT_MAX_CONNECTIONS)
    timeout = host.pop("pool_timeout", DEFAULT_POOL_TIMEOUT)
    return BlockingConnectionPool.from_url(address, max_connections=max_connections, timeout=timeout, **host)


class _Decoded:
    """A group message decoded once by the process's subscription, for all its local sockets.

    The library puts the raw bytes in every member's queue and each socket decodes its own copy: 2,000
    msgpack decodes of the same bytes per event at 2,000 desktops, and 2,000 distinct dicts, so nothing
    could be done once per event after it either (the desktop consumers encode each frame once per
    event and masking level, ``apps.desktop.consumers``). The members share the decoded message and
    only read it.
    """

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value


class _Shard(RedisSingleShardConnection):
    def _ensure_redis(self) -> None:
        if self._redis is None:
            self._redis = aioredis.Redis(connection_pool=_bounded_pool(self.host))
            self._pubsub = self._redis.pubsub()

    def _receive_message(self, message) -> None:
        # The library puts with put_nowait and, on QueueFull, its receive loop logs and sleeps a
        # second, stalling every socket of the process: drop the one full socket's copy instead.
        if message is None:
            return
        name = message["channel"]
        name = name.decode() if isinstance(name, bytes) else name
        layer = self.channel_layer
        if name in layer.channels:
            targets = [name]
        else:
            targets = [c for c in layer.groups.get(name, ()) if c in layer.channels]
        data = message["data"]
        if len(targets) > 1:
            data = _Decoded(layer.channel_layer.deserialize(data))
        for channel in targets:
            try:
                layer.channels[channel].put_nowait(data)
            except asyncio.QueueFull:
                log.warning("channel %s is full (%s messages): message dropped", channel, layer.capacity)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, capacity: int = DEFAULT_CHANNEL_CAPACITY, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.capacity = capacity
        self._shards = [_Shard(shard.host, self) for shard in self._shards]

    async def _subscribe_to_channel(self, channel: str) -> None:
        self.channels[channel] = asyncio.Queue(maxsize=self.capacity)
        await self._get_shard(channel).subscribe(channel)


class BoundedRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    """channels-redis' pub/sub layer with bounded pools and per-socket queues (see above)."""

    def deserialize(self, message):
        return message.value if isinstance(message, _Decoded) else super().deserialize(message)

    def _get_layer(self) -> _LoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer

    # ----- one inbox per socket (apps.desktop.consumers._Base.__call__) --------------------------------
    # Channels' consumer loop waits on the client and on the layer with ``asyncio.wait`` and starts a new
    # task for every message it takes from either; at 2,000 sockets that bookkeeping was a fifth of the
    # web process's CPU in a fan-out. The layer keeps a queue per local channel already: the desktop
    # consumers put their client's few messages in that same queue and read it alone, in one coroutine.
    def local(self) -> _LoopLayer:
        """This event loop's layer: its ``receive(channel)`` awaits the channel's queue directly."""
        return self._get_layer()

    async def put_local(self, channel: str, message: dict) -> None:
        """Queue a message that did not come through Redis (the socket's own client) for ``channel``,
        behind what the channel already holds. Waits while the queue is full."""
        queue = self._get_layer().channels.get(channel)
        if queue is not None:
            await queue.put(_Decoded(message))

    async def discard_channel(self, channel: str) -> None:
        """Forget a local channel and its Redis subscription: what the library does when a pending
        ``receive`` is cancelled, which is how Channels' own loop ends a consumer."""
        layer = self._get_layer()
        if layer.channels.pop(channel, None) is not None:
            await layer._get_shard(channel).unsubscribe(channel)
