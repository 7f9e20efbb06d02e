"""URLs of the apex domain (public pages)."""

from django.urls import path

from saas import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
]
