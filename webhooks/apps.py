from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tenants import registry_listener
        from webhooks import subscription_cache

        # tenants never imports webhooks: the cache registers its payload prefix here.
        registry_listener.subscribe(
            prefix=subscription_cache.PAYLOAD,
            reset=subscription_cache.forget_all,
            change=subscription_cache.on_registry_message,
        )
