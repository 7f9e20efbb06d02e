"""The audit log over the API: an allow-list of fields; operator notes stay with operators."""

from rest_framework import serializers

from audit.models import AuditEvent

# Written by platform operators (suspension reasons, placement details): not the tenant's to read.
OPERATOR_ACTOR = "operator"


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.UUIDField(
        source="actor_id", read_only=True, allow_null=True, help_text="the member, if any"
    )
    actor_label = serializers.CharField(
        read_only=True, help_text='email, "token:<name> (tntr_<key_id>_…)", "operator" or "system"'
    )
    data = serializers.SerializerMethodField(help_text="details; empty for operator actions")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_label",
            "action",
            "target_type",
            "target_id",
            "data",
        ]
        read_only_fields = fields

    def get_data(self, obj) -> dict:
        return {} if obj.actor_label == OPERATOR_ACTOR else obj.data
