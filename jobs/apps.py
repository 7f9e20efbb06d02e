from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Built-in job kinds register themselves on import.
        from jobs import kinds  # noqa: F401
