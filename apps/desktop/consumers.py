"""Websocket consumers: thin. They join the groups a selector gives and forward server events in
one line. Every action goes through the REST API, which the desktop uses; the socket takes only
what has no REST equivalent: a supervisor's ``watch`` (CONTRACT.md) and the page's ``ping``."""
from __future__ import annotations

import asyncio
import json
import logging

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

from apps.accounts.models import WhatsAppAccount
from apps.core.channel_layer import BoundedRedisPubSubChannelLayer
from apps.core.exceptions import ServiceError
from apps.core.masking import event_for_level, level_for_role, masking_level_for
from apps.core.realtime import DESKTOPS_GROUP, interaction_group, sandbox_group
from apps.desktop.selectors import desktop_groups_for
from apps.providers.simulator_views import simulator_allowed
from apps.interactions.board import board_snapshot, board_updated
from apps.interactions.selectors import interaction_list_for

log = logging.getLogger(__name__)

# B7: events after which the board may have changed. A supervisor's socket then sends the whole
# board again, at most once per BOARD_INTERVAL (CONTRACT.md: ``board.updated`` at most once a second).
BOARD_HINTS = frozenset(
    {"queue.stats", "agent.presence", "interaction.assigned", "interaction.closed", "transfer.accepted"}
)
BOARD_INTERVAL = 1.0


# Each event's frame text per masking level, encoded once per process. A group message reaches every
# local member as the same decoded object (apps.core.channel_layer._Decoded), and encoding it once per
# socket was the one part of a fan-out that grows with the event's size. Keyed by the object's id; the
# entry keeps the object alive, so the id cannot be reused while it is cached. Only the event loop's
# thread touches it.
_FRAMES: dict[int, tuple[dict, dict[str, str]]] = {}
_FRAMES_KEPT = 256


def frame_text(event: dict, level: str | None) -> str:
    """The text a socket sends for ``event``: its copy for ``level``, or the event as it is (None)."""
    entry = _FRAMES.get(id(event))
    if entry is None or entry[0] is not event:
        entry = _FRAMES[id(event)] = (event, {})
        if len(_FRAMES) > _FRAMES_KEPT:
            del _FRAMES[next(iter(_FRAMES))]  # the oldest
    texts = entry[1]
    key = level or ""
    text = texts.get(key)
    if text is None:
        text = texts[key] = json.dumps(event_for_level(event, level) if level is not None else event)
    return text


# The scope key under which instant/asgi.py hands the consumers the server's own send.
FRAME_SEND = "instant.frame_send"


class _Base(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]
    frame_send = None  # the server's send, for event frames; Channels' (base_send) when absent

    async def __call__(self, scope, receive, send) -> None:
        """On the pub/sub layer, one inbox per socket: the layer's queue for this channel, which the
        client's messages join too (``BoundedRedisPubSubChannelLayer.put_local``), read by this one
        coroutine. Channels' own loop (``await_many_dispatch``) waits on both sources with
        ``asyncio.wait`` and starts a task per message; a fan-out to 2,000 sockets paid that 2,000
        times per event. Messages are still handled one at a time, in arrival order. Other layers
        (the in-memory one of the embedded default, the core Redis layer) keep Channels' loop."""
        self.frame_send = scope.get(FRAME_SEND)
        layer = get_channel_layer(self.channel_layer_alias)
        if not isinstance(layer, BoundedRedisPubSubChannelLayer):
            await super().__call__(scope, receive, send)
            return
        self.scope = scope
        self.channel_layer = layer
        self.channel_name = await layer.new_channel()
        self.base_send = send
        local = layer.local()
        inbox = local.channels[self.channel_name]
        client = asyncio.ensure_future(self._from_client(receive, layer))
        try:
            while True:
                await self.dispatch(await local.receive(self.channel_name))
                # Round robin between sockets: with more waiting, let the others send first. A fan-out
                # of several events then gives every socket its first event before any its second, so
                # an offer reaches the 2,000th desktop after 2,000 frames, not after 6,000. (An empty
                # inbox makes the next receive wait anyway.)
                if not inbox.empty():
                    await asyncio.sleep(0)
        except StopConsumer:
            pass
        finally:
            client.cancel()
            await layer.discard_channel(self.channel_name)

    async def _from_client(self, receive, layer: BoundedRedisPubSubChannelLayer) -> None:
        """The client's messages (connect, frames, disconnect) into the socket's inbox, in order."""
        try:
            while True:
                message = await receive()
                await layer.put_local(self.channel_name, message)
                if message["type"] == "websocket.disconnect":
                    return
        except Exception:  # the server's receive failed: end the consumer as a lost connection would
            # (a cancel is a BaseException and is not caught: it ends this task as asked)
            log.exception("websocket receive failed on %s", self.channel_name)
            await layer.put_local(self.channel_name, {"type": "websocket.disconnect", "code": 1011})

    async def dispatch(self, message: dict) -> None:
        """Channels (4.2+) awaits ``aclose_old_connections()``, a thread hop, before every message a
        consumer handles; py-spy put 62 % of the web process's CPU in it while one event fanned out
        to 2,000 sockets (bench/sockets.py). These consumers touch the database only through
        ``database_sync_to_async``, which closes stale connections itself, in the thread that uses
        them, around each call: the hop closes nothing that would not be closed anyway."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user = user
        self.groups_joined = []
        await self.accept()
        for group in await database_sync_to_async(self.initial_groups)():
            await self.join(group)

    def initial_groups(self) -> list[str]:
        return []

    async def join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)

    async def disconnect(self, code: int) -> None:
        # Leave every group even if one discard fails (Redis busy or gone): a channel left in a group
        # is fed every later event of that group until channels-redis' group expiry.
        groups = list(getattr(self, "groups_joined", []))
        results = await asyncio.gather(
            *(self.channel_layer.group_discard(group, self.channel_name) for group in groups), return_exceptions=True
        )
        for group, result in zip(groups, results):
            if isinstance(result, Exception):
                log.warning("could not leave %s for %s: %r", group, self.channel_name, result)

    async def send_text(self, text: str) -> None:
        """One frame straight to the server (``AsyncWebsocketConsumer.send`` and Channels' session
        middleware are three coroutine layers more for the same message)."""
        await (self.frame_send or self.base_send)({"type": "websocket.send", "text": text})

    async def event_push(self, message: dict) -> None:
        await self.send_text(frame_text(message["event"], None))

    async def events_push(self, message: dict) -> None:
        """One transaction's events for this group in one channel-layer message (apps.core.realtime):
        the socket gets them one by one, in order, exactly as if each had come alone."""
        for index, event in enumerate(message["events"]):
            if index:
                await asyncio.sleep(0)  # round robin between sockets, as between messages (__call__)
            await self.event_push({"type": "event.push", "event": event})


class DesktopConsumer(_Base):
    """``/ws/desktop/``: an agent's or supervisor's live desktop."""

    def initial_groups(self) -> list[str]:
        # B5 masking is per recipient: read once per connection, then kept current by the
        # ``settings.masking`` event every desktop receives the moment an admin changes it.
        self.masking = masking_level_for(self.user)
        self.watching: set[int] = set()
        self.board_task: asyncio.Task | None = None
        self.board_dirty = False
        self.board_sent_at = float("-inf")
        return [*desktop_groups_for(self.user), DESKTOPS_GROUP]

    async def connect(self) -> None:
        await super().connect()
        if getattr(self, "board_task", None) is None and self.user_is_supervisor():
            self.board_soon()

    def user_is_supervisor(self) -> bool:
        user = getattr(self, "user", None)
        return bool(user is not None and user.is_authenticated and user.is_supervisor_or_admin)

    def board_soon(self) -> None:
        """Send the board now, or once BOARD_INTERVAL has passed since the last one: a burst of
        changes becomes one ``board.updated`` that counts them all."""
        if self.board_task is not None and not self.board_task.done():
            self.board_dirty = True
            return
        self.board_task = asyncio.ensure_future(self.board_push())

    async def board_push(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            wait = self.board_sent_at + BOARD_INTERVAL - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.board_dirty = False
            board = await database_sync_to_async(board_snapshot)()
            self.board_sent_at = loop.time()
            await self.send_json(board_updated(board))
            if not self.board_dirty:
                return

    async def disconnect(self, code: int) -> None:
        task = getattr(self, "board_task", None)
        if task is not None and not task.done():
            task.cancel()
        await super().disconnect(code)

    async def event_push(self, message: dict) -> None:
        event = message["event"]
        if event["type"] == "settings.masking":
            self.masking = level_for_role(self.user, event["data"]["masking"])
            # The page refetches what it shows; it learns its own level, not the installation's.
            await self.send_json({"type": "settings.masking", "data": {"masking": self.masking}})
            return
        # Events carry a copy per level, masked where they were built: pick ours.
        await self.send_text(frame_text(event, getattr(self, "masking", "none")))
        if event["type"] in BOARD_HINTS and self.user_is_supervisor():
            self.board_soon()

    async def receive_json(self, content: dict, **kwargs) -> None:
        action = content.get("action")
        request_id = content.get("request_id")
        try:
            if action == "watch":
                interaction_id = int(content["interaction_id"])
                group = await database_sync_to_async(self._watch_group)(interaction_id)
                await self.join(group)
                self.watching.add(interaction_id)
                result = {"watching": interaction_id}
            elif action == "unwatch":
                interaction_id = int(content["interaction_id"])
                group = interaction_group(interaction_id)
                if group in self.groups_joined:
                    await self.channel_layer.group_discard(group, self.channel_name)
                    self.groups_joined.remove(group)
                self.watching.discard(interaction_id)
                result = {"watching": None}
            elif action == "ping":
                result = {"pong": True}
            elif self.watching:
                # S1: spying is read-only, whatever the page or a hand-written client sends.
                raise ServiceError("read_only", "You are watching: every action is refused.", status=403)
            else:
                raise ServiceError("unknown_action", f"Unknown action {action!r}: actions go through the REST API.")
        except ServiceError as exc:
            await self.send_json(
                {
                    "type": "reply",
                    "data": {"request_id": request_id, "ok": False, "code": exc.code, "detail": exc.detail, "status": exc.status},
                }
            )
            return
        except (KeyError, TypeError, ValueError) as exc:
            await self.send_json(
                {"type": "reply", "data": {"request_id": request_id, "ok": False, "code": "invalid", "detail": str(exc)}}
            )
            return
        await self.send_json({"type": "reply", "data": {"request_id": request_id, "ok": True, "result": result}})

    def _watch_group(self, interaction_id: int) -> str:
        if not interaction_list_for(self.user).filter(pk=interaction_id).exists():
            raise ServiceError("not_found", "No such interaction.", status=404)
        # S1 is a supervisor's: an agent watching another's chat would see supervisor notes (S2).
        if not self.user.is_supervisor_or_admin:
            raise ServiceError("supervisors_only", "Only supervisors and admins can watch a conversation.", status=403)
        return interaction_group(interaction_id)


class SimulatorConsumer(_Base):
    """``/ws/simulator/``: the customer simulator follows one Sandbox account's simulated phones."""

    async def connect(self) -> None:
        # Only who may use the simulator's page may watch its customers live.
        user = self.scope.get("user")
        if user is None or not await database_sync_to_async(simulator_allowed)(user):
            await self.close(code=4403)
            return
        await super().connect()

    async def receive_json(self, content: dict, **kwargs) -> None:
        if content.get("action") == "watch":
            account_id = int(content["account_id"])
            if await database_sync_to_async(self._is_sandbox)(account_id):
                await self.join(sandbox_group(account_id))
                await self.send_json({"type": "reply", "data": {"ok": True, "watching": account_id}})
                return
        await self.send_json({"type": "reply", "data": {"ok": False, "code": "invalid"}})

    def _is_sandbox(self, account_id: int) -> bool:
        return WhatsAppAccount.objects.filter(pk=account_id, provider="sandbox").exists()
