"""The tenant's plan and its usage against the plan's limits (read scope)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.views import ApiViewMixin
from billing.api.serializers import PlanSerializer, UsageSerializer
from billing.limits import usage_summary
from billing.models import Plan


class PlanApi(ApiViewMixin, APIView):
    @extend_schema(
        summary="The organisation's plan: limits and features",
        tags=["billing"],
        responses=PlanSerializer,
    )
    def get(self, request):
        plan = Plan.objects.get(pk=request.tenant.plan_id)
        return Response(PlanSerializer(plan).data)


class UsageApi(ApiViewMixin, APIView):
    @extend_schema(
        summary="Usage against each limit of the plan", tags=["billing"], responses=UsageSerializer
    )
    def get(self, request):
        return Response(UsageSerializer(usage_summary(tenant=request.tenant)).data)
