"""The plan and the usage against its limits, as the API shows them."""

from rest_framework import serializers

from billing.models import PLAN_CUSTOMER_FIELDS, Plan


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = PLAN_CUSTOMER_FIELDS
        read_only_fields = fields


class LimitUsageSerializer(serializers.Serializer):
    name = serializers.CharField()
    limit = serializers.IntegerField(allow_null=True, help_text="null = unlimited")
    usage = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    plan = serializers.CharField(help_text="the plan's code")
    limits = LimitUsageSerializer(many=True)
    features = serializers.ListField(child=serializers.CharField())
    api_requests_per_minute = serializers.IntegerField()
