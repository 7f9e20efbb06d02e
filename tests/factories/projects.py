import factory

from projects.models import Project, Task
from tests.factories.tenants import TenantOwnedFactory


class ProjectFactory(TenantOwnedFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    description = "A project"


class TaskFactory(TenantOwnedFactory):
    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    title = factory.Sequence(lambda n: f"Task {n}")
