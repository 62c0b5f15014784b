from django.urls import path

from apps.desktop.consumers import DesktopConsumer, SimulatorConsumer

websocket_urlpatterns = [
    path("ws/desktop/", DesktopConsumer.as_asgi()),
    path("ws/simulator/", SimulatorConsumer.as_asgi()),
]
