"""tenants/sql/enter_tenant.sql with the role names and the policy filled in.

Its top-level comment lines are dropped: `migrate_tenants` replays a migration's SQL
split into statements and skips every statement that starts with a comment.
"""

from pathlib import Path

from saas.db import APP_ROLE, OPERATOR_ROLE
from tenants.rls.sql import POLICY_EXPR

_TEXT = (Path(__file__).resolve().parent.parent / "sql" / "enter_tenant.sql").read_text()

SQL = (
    "\n".join(line for line in _TEXT.splitlines() if not line.startswith("--"))
    .replace("__POLICY__", POLICY_EXPR)
    .replace("__APP__", '"' + APP_ROLE + '"')
    .replace("__OPERATOR__", '"' + OPERATOR_ROLE + '"')
)
