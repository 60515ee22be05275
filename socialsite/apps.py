from django.apps import AppConfig


class SocialsiteConfig(AppConfig):
    name = "socialsite"
    verbose_name = "socialsite"

    def ready(self):
        from django_structlog import signals

        from socialsite import checks, logs  # noqa: F401 -- checks registers them

        signals.bind_extra_request_metadata.connect(logs.bind_request)
        signals.bind_extra_request_finished_metadata.connect(logs.finish_request)
        signals.bind_extra_request_failed_metadata.connect(logs.fail_request)
        signals.update_failure_response.connect(logs.set_response_header)
