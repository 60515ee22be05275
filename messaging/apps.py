from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self):
        from messaging import consumers  # noqa: F401  (registers the socket actions)
