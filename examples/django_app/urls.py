"""The example's URLs."""

from __future__ import annotations

from django.urls import path

from examples.django_app import views

urlpatterns = [
    path("", views.index),
    path("ping", views.ping),
    path("api/flags", views.api_flags),
    path("stream", views.stream),
]
