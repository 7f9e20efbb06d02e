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

        from accounts import token_cache
        from tenants import registry_listener

        registry_listener.subscribe(
            prefix=token_cache.TOKEN_PAYLOAD,
            reset=token_cache.forget_all,
            change=token_cache.on_registry_message,
        )
