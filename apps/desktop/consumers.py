"""Websocket consumers: thin. They join the groups a selector gives and forward server events in
one line. Every action goes through the REST API, which the desktop uses; the socket takes only
what has no REST equivalent: a supervisor's ``watch`` (CONTRACT.md) and the page's ``ping``."""
from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.models import WhatsAppAccount
from apps.core.exceptions import ServiceError
from apps.core.masking import mask_payload, masking_level_for
from apps.core.realtime import interaction_group, sandbox_group
from apps.desktop.selectors import desktop_groups_for
from apps.interactions.selectors import interaction_list_for


class _Base(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

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
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def event_push(self, message: dict) -> None:
        await self.send_json(message["event"])


class DesktopConsumer(_Base):
    """``/ws/desktop/``: an agent's or supervisor's live desktop."""

    def initial_groups(self) -> list[str]:
        # B5 masking is per recipient: read once per connection (a reconnect picks up a change).
        self.masking = masking_level_for(self.user)
        return desktop_groups_for(self.user)

    async def event_push(self, message: dict) -> None:
        await self.send_json(mask_payload(message["event"], getattr(self, "masking", "none")))

    async def receive_json(self, content: dict, **kwargs) -> None:
        action = content.get("action")
        request_id = content.get("request_id")
        try:
            if action == "watch":
                group = await database_sync_to_async(self._watch_group)(int(content["interaction_id"]))
                await self.join(group)
                result = {"watching": content["interaction_id"]}
            elif action == "ping":
                result = {"pong": True}
            else:
                raise ServiceError("unknown_action", f"Unknown action {action!r}: actions go through the REST API.")
        except ServiceError as exc:
            await self.send_json(
                {"type": "reply", "data": {"request_id": request_id, "ok": False, "code": exc.code, "detail": exc.detail}}
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
        return interaction_group(interaction_id)


class SimulatorConsumer(_Base):
    """``/ws/simulator/``: the customer simulator follows one Sandbox account's simulated phones."""

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
