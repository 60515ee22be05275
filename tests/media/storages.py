from django.core.files.storage import FileSystemStorage


class FlakyStorage(FileSystemStorage):
    """A local folder whose writes of processed media fail `failures` times (a storage outage)."""

    failures = 0

    def _save(self, name, content):
        if FlakyStorage.failures > 0 and name.startswith("posts/media/"):
            FlakyStorage.failures -= 1
            raise OSError("storage is unavailable")
        return super()._save(name, content)
