"""Media files in `default_storage` (a local folder or S3), by way of temporary files.

A storage outage is transient: it raises StorageUnavailable, which the tasks retry.
"""

import logging
import os
import shutil

from django.core.files import File
from django.core.files.storage import default_storage

from media.errors import MediaProcessingError, StorageUnavailable
from socialsite.errors import STORAGE_ERRORS

logger = logging.getLogger(__name__)

STORAGE_PREFIX = "posts/media"  # kept from when media was part of posts: stored paths and URLs use it


def prefix(media):
    """The folder of a media item's variants."""
    return f"{STORAGE_PREFIX}/{media.id}"


def paths(variants):
    return [variant["path"] for variant in variants.values() if variant.get("path")]


def delete_quietly(names):
    for name in names:
        try:
            default_storage.delete(name)
        except STORAGE_ERRORS:
            logger.warning("Could not delete %s", name)


def download(name, workdir):
    """Copy a stored file (the raw upload, a variant) into the work directory."""
    if not name:
        raise MediaProcessingError("The uploaded file is missing. Please upload it again.")
    try:
        if not default_storage.exists(name):
            raise MediaProcessingError("The uploaded file is missing. Please upload it again.")
        path = os.path.join(workdir, "source")
        with default_storage.open(name, "rb") as stored, open(path, "wb") as local:
            shutil.copyfileobj(stored, local, 1024 * 1024)
    except STORAGE_ERRORS as exc:
        raise StorageUnavailable(f"Reading {name} failed: {exc}") from exc
    return path


def store(name, fileobj, written):
    """Save under exactly `name` (replacing a copy from an earlier attempt); return the stored name."""
    try:
        if default_storage.exists(name):
            default_storage.delete(name)
        stored = default_storage.save(name, File(fileobj, name=os.path.basename(name)))
    except STORAGE_ERRORS as exc:
        raise StorageUnavailable(f"Writing {name} failed: {exc}") from exc
    written.append(stored)
    return stored
