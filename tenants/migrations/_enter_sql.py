"""tenants/sql/enter_tenant.sql with the role names and the policy filled in.

One home for the text, used by the migrations that install or replace the function.
"""

from pathlib import Path

from tenants.database_config import APP_ROLE, OPERATOR_ROLE
from tenants.rls.sql import CURRENT_TENANT_FUNCTION_SQL, POLICY_EXPR

_TEXT = (Path(__file__).resolve().parent.parent / "sql" / "enter_tenant.sql").read_text()

SQL = (
    _TEXT.replace("__POLICY__", POLICY_EXPR)
    .replace("__CURRENT_TENANT_FN__", CURRENT_TENANT_FUNCTION_SQL)
    .replace("__APP__", '"' + APP_ROLE + '"')
    .replace("__OPERATOR__", '"' + OPERATOR_ROLE + '"')
)
