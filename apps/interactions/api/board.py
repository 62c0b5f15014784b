"""``GET /api/v1/board/``: the realtime board (B7, S3) for supervisors and admins; an agent gets 403."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import NotAllowed
from apps.interactions.board import board_snapshot
from apps.users.models import User


class BoardQueueSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    waiting = serializers.IntegerField(help_text="Interactions in status waiting, offered or not.")
    offered = serializers.IntegerField(help_text="Waiting interactions with at least one live offer.")
    open = serializers.IntegerField(help_text="Interactions in status open.")
    agents_online = serializers.IntegerField(help_text="Members online, busy ones included.")
    agents_paused = serializers.IntegerField()
    agents_busy = serializers.IntegerField(help_text="Online members who own at least one open interaction.")
    oldest_waiting_since = serializers.DateTimeField(allow_null=True)
    longest_wait = serializers.IntegerField(help_text="Seconds the oldest waiting interaction has waited.")
    average_wait = serializers.IntegerField(
        allow_null=True, help_text="Average seconds from arrival to an agent taking it, over the last hour."
    )
    waiting_history = serializers.ListField(
        child=serializers.IntegerField(), help_text="Waiting interactions over the last hour, oldest first."
    )


class BoardAgentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    presence = serializers.ChoiceField(choices=User.Presence.choices)
    open_interactions = serializers.IntegerField()
    max_open_interactions = serializers.IntegerField(allow_null=True)
    queues = serializers.ListField(child=serializers.IntegerField())
    last_activity = serializers.DateTimeField(allow_null=True)


class BoardSerializer(serializers.Serializer):
    queues = BoardQueueSerializer(many=True)
    agents = BoardAgentSerializer(many=True)
    generated_at = serializers.DateTimeField()
    history_step_seconds = serializers.IntegerField()


class BoardView(APIView):
    """Per queue: waiting, offered, open, agents online, paused and busy, waits and a waiting history.
    Per agent: presence, open interactions and last activity. Pushed live as `board.updated`."""

    @extend_schema(responses=BoardSerializer)
    def get(self, request):
        if not request.user.is_supervisor_or_admin:
            raise NotAllowed("supervisors_only", "The board is for supervisors and administrators.")
        return Response(board_snapshot())
