from django.apps import AppConfig


class SocialsiteConfig(AppConfig):
    name = "socialsite"
    verbose_name = "socialsite"

    def ready(self):
        from socialsite import checks  # noqa: F401 -- registers them
