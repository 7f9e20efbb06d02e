"""Refusals the tenancy layer gives before any view runs: one shape for HTML and JSON."""

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string


def wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def refusal(request, status: int, code: str, message: str, headers: dict | None = None):
    if wants_json(request):
        response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    else:
        body = render_to_string(
            "tenants/refusal.html", {"status": status, "code": code, "message": message}
        )
        response = HttpResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
