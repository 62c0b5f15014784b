from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.interactions.services import queue_stats
from apps.queues.models import CannedAnswer, Disposition, Queue


class DispositionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Disposition
        fields = ["id", "name"]


class CannedAnswerSerializer(serializers.ModelSerializer):
    class Meta:
        model = CannedAnswer
        fields = ["id", "title", "text"]


class QueueSerializer(serializers.ModelSerializer):
    agents = serializers.PrimaryKeyRelatedField(many=True, queryset=get_user_model().objects.all(), required=False)
    dispositions = DispositionSerializer(many=True, read_only=True)
    canned_answers = CannedAnswerSerializer(many=True, read_only=True)

    class Meta:
        model = Queue
        fields = [
            "id",
            "name",
            "agents",
            "routing",
            "offer_timeout",
            "contact_list",
            "dispositions",
            "canned_answers",
            "waiting",
            "offered",
            "open",
        ]
        read_only_fields = ["waiting", "offered", "open"]

    waiting = serializers.SerializerMethodField()
    offered = serializers.SerializerMethodField()
    open = serializers.SerializerMethodField()

    def _stats(self, obj: Queue) -> dict:
        cache = self.context.setdefault("_queue_stats", {})
        if obj.pk not in cache:
            cache[obj.pk] = queue_stats(obj.pk)
        return cache[obj.pk]

    def get_waiting(self, obj: Queue) -> int:
        return self._stats(obj)["waiting"]

    def get_offered(self, obj: Queue) -> int:
        return self._stats(obj)["offered"]

    def get_open(self, obj: Queue) -> int:
        return self._stats(obj)["open"]
