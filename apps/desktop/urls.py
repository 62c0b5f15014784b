from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path(
        "login/",
        # Not redirect_authenticated_user: a signed-in user sent here for lack of rights would loop.
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", RedirectView.as_view(url="/desktop/", permanent=False), name="home"),
    path("desktop/", views.desktop, name="desktop"),
]
