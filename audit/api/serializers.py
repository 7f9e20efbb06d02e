"""The audit log over the API: an allow-list of fields; operator notes stay with operators."""

from rest_framework import serializers

from audit.models import AuditEvent
from tenants.actors import is_operator_label


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.UUIDField(
        source="actor_id",
        read_only=True,
        allow_null=True,
        help_text="the member, or the member behind the token, if any",
    )
    actor_label = serializers.CharField(
        read_only=True,
        help_text=(
            'email, "token:<name> (tntr_<key_id>_…) of <email>" (a member\'s token), '
            '"token:<name> (tntr_<key_id>_…)" (an operator\'s), "operator <who>" or "system"'
        ),
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
        # Operator details are not the tenant's to read (services no longer write any; rows
        # from before may hold a suspension reason): what happened and who did it is enough.
        return {} if is_operator_label(obj.actor_label) else obj.data
