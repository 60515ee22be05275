"""The two ways processing fails: for good (the owner is told why) or for now (storage; retried)."""


class MediaProcessingError(Exception):
    """A permanent processing failure; the message is shown to the owner."""


class StorageUnavailable(Exception):
    """Reading or writing storage failed; the task retries with backoff."""
