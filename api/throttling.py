"""The per-plan rate limit as a DRF throttle; the decision's headers go on every response."""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle

from accounts.models import ApiToken
from billing.ratelimit import rate_limit_hit


class PlanRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return True  # unauthenticated requests were refused before this runs
        decision = rate_limit_hit(tenant=request.tenant)
        request._request.ratelimit = decision  # read by ApiViewMixin.finalize_response
        self.decision = decision
        return decision.allowed

    def wait(self):
        return self.decision.retry_after
