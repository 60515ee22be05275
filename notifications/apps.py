from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from notifications import (  # noqa: F401
            consumers,  # registers the socket action
            receivers,  # connects the signal receivers
        )
