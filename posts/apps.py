from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "posts"

    def ready(self):
        from posts import receivers  # noqa: F401 -- connects the signal receivers
