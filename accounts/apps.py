from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts import usage
        from accounts.middleware import bind_session_to_tenant

        user_logged_in.connect(bind_session_to_tenant, dispatch_uid="bind_session_to_tenant")
        usage.register()  # billing counts members through it
