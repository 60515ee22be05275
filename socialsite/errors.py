"""Domain errors raised by services and selectors.

Entry points turn them into their own answer: the API into the error envelope with
the status below, web views into a message on the page.
"""

try:  # what a failing media storage raises: a local folder's, S3's (boto), S3's breaker open
    from botocore.exceptions import BotoCoreError, ClientError
    from pybreaker import CircuitBreakerError

    STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError, CircuitBreakerError)
except ImportError:  # pragma: no cover
    STORAGE_ERRORS = (OSError,)


class ServiceError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message, *, code=None, fields=None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields


class UnauthorizedError(ServiceError):
    status_code = 401
    default_code = "not_authenticated"


class NotFoundError(ServiceError):
    status_code = 404
    default_code = "not_found"


class ForbiddenError(ServiceError):
    status_code = 403
    default_code = "permission_denied"


class ConflictError(ServiceError):
    status_code = 409
    default_code = "conflict"
