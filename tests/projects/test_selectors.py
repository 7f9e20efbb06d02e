"""The scoped manager's tenant filter is not repeated by a selector naming the same tenant."""

import uuid

from projects.models import Project
from projects.selectors import project_list, task_list
from tenants.context import tenant_scope
from tests.factories import ProjectFactory


def test_a_selector_filters_on_its_tenant_once(tenant_a):
    project = ProjectFactory(tenant=tenant_a)
    with tenant_scope(tenant_a):
        assert str(project_list(tenant=tenant_a).query).count('."tenant_id" =') == 1
        assert str(task_list(tenant=tenant_a, project=project).query).count('."tenant_id" =') == 1
        assert list(project_list(tenant=tenant_a)) == [project]


def test_another_tenants_filter_is_kept_and_matches_nothing(tenant_a, tenant_b):
    ProjectFactory(tenant=tenant_a)
    with tenant_scope(tenant_a):
        qs = Project.objects.filter(tenant_id=tenant_b.pk)
        assert str(qs.query).count('."tenant_id" =') == 2
        assert not qs.exists()
        assert not Project.objects.filter(tenant_id=uuid.uuid4()).exists()
        assert Project.objects.exclude(tenant_id=tenant_a.pk).count() == 0
