"""Who may open which tenant page: members see projects; owners and admins run the organisation."""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

ADMIN_ONLY = "Only owners and admins of {org} can open this page. Ask one of them for access."


def forbidden(request, message: str, status: int = 403):
    return render(request, "errors/403.html", {"message": message}, status=status)


def member_required(view):
    """A signed-in user of this tenant (sessions are per tenant, so any user here is a member)."""

    @functools.wraps(view)
    def inner(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return inner


def admin_required(view):
    """Owners and admins only; a member gets a 403 page that says whom to ask."""

    @functools.wraps(view)
    def inner(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_admin:
            return forbidden(request, ADMIN_ONLY.format(org=request.tenant.name))
        return view(request, *args, **kwargs)

    return inner
