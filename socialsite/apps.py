from django.apps import AppConfig


class SocialsiteConfig(AppConfig):
    name = "socialsite"
    verbose_name = "socialsite"
