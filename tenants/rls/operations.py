"""Migration operations that declare a tenant-owned table."""

from __future__ import annotations

from django.db.migrations.operations.base import Operation

from tenants.rls import sql


class _TenantTableOperation(Operation):
    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def deconstruct(self):
        return self.__class__.__name__, [self.model_name], {}

    def state_forwards(self, app_label, state):
        pass

    def _model(self, app_label, state):
        label = self.model_name if "." in self.model_name else f"{app_label}.{self.model_name}"
        return state.apps.get_model(label)

    def _run(self, schema_editor, statements):
        for statement in statements:
            schema_editor.execute(statement, params=None)


class EnableTenantRLS(_TenantTableOperation):
    """ENABLE + FORCE row-level security and the tenant policy (USING + WITH CHECK)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = self._model(app_label, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            self._run(schema_editor, sql.enable_rls(model._meta.db_table))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = self._model(app_label, from_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            self._run(schema_editor, sql.disable_rls(model._meta.db_table))

    def describe(self):
        return f"Enable tenant row-level security on {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"rls_{self.model_name.lower().replace('.', '_')}"


class AddSameTenantForeignKey(_TenantTableOperation):
    """Make `field` (a FK to another tenant model) unable to cross tenants."""

    def __init__(self, model_name: str, field: str):
        super().__init__(model_name)
        self.field = field

    def deconstruct(self):
        return self.__class__.__name__, [self.model_name, self.field], {}

    def _statements(self, app_label, state):
        from django.db import models

        model = self._model(app_label, state)
        field = model._meta.get_field(self.field)
        if field.remote_field.on_delete is models.CASCADE:
            on_delete = "CASCADE"
        elif field.remote_field.on_delete is models.SET_NULL:
            on_delete = f"SET NULL ({sql.qn(field.column)})"
        else:  # PROTECT, DO_NOTHING…: the database refuses the delete
            on_delete = "NO ACTION"
        return sql.same_tenant_fk(
            model._meta.db_table, field.column, field.related_model._meta.db_table, on_delete
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = self._model(app_label, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            self._run(schema_editor, self._statements(app_label, to_state)[0])

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = self._model(app_label, from_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            self._run(schema_editor, self._statements(app_label, from_state)[1])

    def describe(self):
        return f"Tie {self.model_name}.{self.field} to rows of the same tenant"
