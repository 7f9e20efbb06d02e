from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts.middleware import bind_session_to_tenant

        user_logged_in.connect(bind_session_to_tenant, dispatch_uid="bind_session_to_tenant")

        from accounts import token_cache
        from tenants import registry_listener

        registry_listener.on_message(token_cache.TOKEN_PAYLOAD, token_cache.on_registry_message)
