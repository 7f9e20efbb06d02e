"""Polled fragments (htmx): a redirect, e.g. to sign in, moves the whole page, not the table."""

from __future__ import annotations

import functools

from django.http import HttpResponse


def polled_fragment(view):
    """Outermost decorator of a fragment view that a page polls.

    The browser follows an XHR's redirect itself, so htmx would swap the sign-in page into
    the table once the session ended; `HX-Redirect` makes htmx navigate the page instead.
    """

    @functools.wraps(view)
    def inner(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if request.headers.get("HX-Request") and response.status_code in (301, 302, 303):
            return HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
        return response

    return inner
