from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from notifications import (  # noqa: F401
            checks,  # registers the Web Push settings' checks
            consumers,  # registers the socket action
            receivers,  # connects the signal receivers
        )
