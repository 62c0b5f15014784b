from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import filters, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import FilterBackend
from apps.core.api_views import IsAdminOrReadOnly
from apps.users.models import User
from apps.users.services import user_delete, user_set_presence

from .serializers import PresenceSerializer, UserSerializer


class UserViewSet(viewsets.ModelViewSet):
    """Users and roles (B6). Everyone signed in may list them (transfer targets); admins write."""

    serializer_class = UserSerializer
    permission_classes = [IsAdminOrReadOnly]
    queryset = User.objects.prefetch_related("queues").order_by("username")
    filter_backends = [FilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_fields = ["role", "presence", "queues", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering_fields = ["username", "first_name", "last_name", "role", "presence"]

    def perform_destroy(self, instance: User) -> None:
        user_delete(users=[instance], actor=self.request.user)

    @extend_schema(responses=UserSerializer)
    @action(detail=False, methods=["get"], permission_classes=[permissions.IsAuthenticated])
    def me(self, request):
        """The signed-in user."""
        return Response(UserSerializer(request.user, context=self.get_serializer_context()).data)


class PresenceView(APIView):
    """``POST {"presence": "online"}`` sets the caller's own presence."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = PresenceSerializer

    @extend_schema(responses=UserSerializer)
    def get(self, request):
        return Response(UserSerializer(request.user, context={"request": request}).data)

    @extend_schema(request=PresenceSerializer, responses=UserSerializer)
    def post(self, request):
        serializer = PresenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_set_presence(user=request.user, presence=serializer.validated_data["presence"])
        return Response(UserSerializer(user, context={"request": request}).data)
