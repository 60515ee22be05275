"""S3 (django-storages) behind the "s3" circuit breaker (socialsite.breakers).

Every call that reaches the bucket goes through the breaker; with S3 down it raises
CircuitBreakerError at once instead of making each upload wait out boto's retries. `url()` is
worked out locally (presigned or on the custom domain), so pages and API answers that link to
existing media keep working while S3 is down; only the files themselves don't load.
"""

from typing import Any

from storages.backends.s3 import S3Storage as BaseS3Storage

from socialsite import breakers

# A missing key, a refused permission: answers about the request, S3 is up.
BREAKER = breakers.breaker("s3", exclude=[breakers.client_error])


class S3Storage(BaseS3Storage):
    def _open(self, name: str, mode: str = "rb") -> Any:
        return BREAKER.call(super()._open, name, mode)

    def _save(self, name: str, content: Any) -> str:
        saved: str = BREAKER.call(super()._save, name, content)
        return saved

    def delete(self, name: str) -> None:
        BREAKER.call(super().delete, name)

    def exists(self, name: str) -> bool:
        found: bool = BREAKER.call(super().exists, name)
        return found

    def listdir(self, name: str) -> Any:
        return BREAKER.call(super().listdir, name)

    def size(self, name: str) -> int:
        length: int = BREAKER.call(super().size, name)
        return length

    def get_modified_time(self, name: str) -> Any:
        return BREAKER.call(super().get_modified_time, name)
