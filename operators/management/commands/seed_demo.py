"""Seed the demo tenant served by `make run` (idempotent)."""

from accounts.onboarding import organisation_create
from projects.services import project_create, task_create
from tenants.actors import command_actor
from tenants.commands import OperatorCommand
from tenants.context import tenant_scope
from tenants.models import Tenant

DEMO_EMAIL = "admin@demo.example"
DEMO_PASSWORD = "demo-password-1"
DEMO_OPERATOR = "ops@demo.example"


class Command(OperatorCommand):
    help = "Create the demo tenant with an admin and a few projects, unless it exists."

    def handle(self, *args, **opts):
        from operators.models import Operator
        from operators.services import operator_create

        if not Operator.objects.filter(email=DEMO_OPERATOR).exists():
            operator_create(email=DEMO_OPERATOR, password=DEMO_PASSWORD)
            self.stdout.write(
                f"demo operator: {DEMO_OPERATOR} / {DEMO_PASSWORD} on admin.localhost"
            )
        if Tenant.objects.filter(subdomain="demo").exists():
            self.stdout.write("demo tenant already present")
            return
        actor = command_actor()  # the demo's rows are the owner's; the audit names who seeded
        tenant = organisation_create(
            name="Demo Organisation",
            subdomain="demo",
            plan_code="pro",
            owner_email=DEMO_EMAIL,
            owner_password=DEMO_PASSWORD,
            actor=actor,
        )
        with tenant_scope(tenant):
            from accounts.models import User

            owner = User.objects.get(email=DEMO_EMAIL)
            for name in ("Website relaunch", "Mobile app", "Quarterly report"):
                project = project_create(tenant=tenant, actor=actor, created_by=owner, name=name)
                for title in ("Plan", "Build", "Review"):
                    task_create(
                        tenant=tenant,
                        project=project,
                        title=f"{title} {name.lower()}",
                        actor=actor,
                    )
        self.stdout.write(f"seeded demo tenant: log in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
