"""Public pages on the apex domain and the health check."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render


def home(request):
    return render(request, "public/home.html")


def healthz(request):
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
