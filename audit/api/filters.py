"""Filters of the audit log: who, what, when."""

import django_filters

from audit.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.UUIDFilter(field_name="actor_id", help_text="the member's id")
    actor_label = django_filters.CharFilter(lookup_expr="icontains")
    action = django_filters.CharFilter(help_text="exact, e.g. project.create")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["actor", "actor_label", "action", "created_after", "created_before"]
