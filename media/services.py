"""Writes for media: take an upload, process it in the media worker, change its filter, delete it.

On upload, `media_create` sniffs the kind by decoding it (media.sniffing), rejects what is
obviously bad, stores the raw upload and enqueues `process_media` (media.tasks) on commit. The
worker (`media_process`) makes the variants (media.images, media.videos); a post can later change
an image's filter with `media_refilter`, which starts from the unfiltered "source" variant.

A storage outage is transient (`StorageUnavailable`, retried by the task); any other problem is
permanent and leaves a user-facing message in `Media.error`. An item attached to a post that
settles (ready or failed) sends `media.signals.media_settled` in the same transaction.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from media import storage, tasks
from media.errors import MediaProcessingError, StorageUnavailable
from media.filters import validate_filter
from media.images import Processed, decode_image, image_variants, process_image, store_image
from media.limits import ALT_TEXT_MAX
from media.models import Media
from media.signals import media_settled
from media.sniffing import sniff_upload
from media.videos import process_video
from socialsite import breakers, metrics, outbox
from socialsite.errors import ConflictError, NotFoundError, ServiceError

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import User

logger = logging.getLogger(__name__)

TOO_SLOW_MESSAGE = "Processing this file took too long. Please upload it again."
FAILED_MESSAGE = "Something went wrong while processing this file."


def media_create(*, owner: User, upload: UploadedFile, alt_text: str = "", filter: str = "") -> Media:
    """Check and store an upload as a Media row in `processing`; the worker runs after commit."""
    alt_text = (alt_text or "").strip()
    if len(alt_text) > ALT_TEXT_MAX:
        raise ServiceError("The alt text is too long.", fields={"alt_text": [f"At most {ALT_TEXT_MAX} characters."]})
    filter = validate_filter(filter)
    if breakers.is_open("s3"):  # refused at once, before the file is even looked at
        raise breakers.storage_unavailable()
    sniffed = sniff_upload(upload)  # before the transaction: ffprobe may take a while
    try:
        with transaction.atomic():  # a failed write leaves no row behind
            media = Media(owner=owner, kind=sniffed.kind, alt_text=alt_text, filter=filter)
            upload.seek(0)
            media.upload.save(f"{media.id.hex}.{sniffed.extension}", File(upload), save=False)
            media.save()
            outbox.enqueue(tasks.process_media, str(media.id))
    except storage.STORAGE_ERRORS as exc:
        logger.warning("Upload refused: storage failed: %s: %s", type(exc).__name__, exc)
        raise breakers.storage_unavailable() from exc
    return media


def media_delete(*, user: User, media_id: uuid.UUID) -> None:
    """Delete one of the caller's uploads that no post uses: the row now, its files after commit.
    Anyone else's answers 404; one in a post answers 409 (edit or delete the post instead)."""
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id, owner=user).first()
        if media is None:
            raise NotFoundError("No such media.")
        if media.post_id is not None:
            raise ConflictError("This media is in a post; edit or delete the post instead.", code="media_in_post")
        _delete_row(media)


def media_prune_unattached(*, limit: int = 500) -> int:
    """Uploads no post took within MEDIA_UNATTACHED_HOURS: deleted with their files (a sweeper).
    A post taking one at the same moment locks it first, or finds it gone. Returns how many."""
    old = Media.objects.filter(
        post__isnull=True, created_at__lt=timezone.now() - timedelta(hours=settings.MEDIA_UNATTACHED_HOURS)
    )
    deleted = 0
    for media_id in old.values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            media = old.select_for_update(skip_locked=True).filter(pk=media_id).first()
            if media is not None:
                _delete_row(media)
                deleted += 1
    return deleted


def _delete_row(media: Media) -> None:
    names = [media.upload.name, *storage.paths(media.variants or {})]
    media.delete()
    for name in names:
        _delete_on_commit(name)  # a worker still processing it finds the row gone and cleans up


# --- Worker ---------------------------------------------------------------------------------------------


def media_process(*, media_id: uuid.UUID | str) -> Media | None:
    """Process one media item. A row that is missing, ready or failed is left alone.

    Raises StorageUnavailable when storage fails (the task retries); every other failure marks
    the row failed with a message for its owner. Returns the media row, or None for a no-op.
    """
    media = _claim(media_id)
    if media is None:
        return None
    started = time.monotonic()
    settled = _process(media)
    if settled is not None and settled.status in (Media.Status.READY, Media.Status.FAILED):
        metrics.MEDIA_SECONDS.labels(media.kind, settled.status).observe(time.monotonic() - started)
    return settled


def _process(media: Media) -> Media | None:
    media_id = media.id
    written: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="media-") as workdir:
            source = storage.download(media.upload.name, workdir)
            if media.kind == Media.Kind.VIDEO:
                result = process_video(media, source, workdir, written)
            else:
                result = process_image(media, source, written)
    except StorageUnavailable:
        storage.delete_quietly(written)
        raise
    except MediaProcessingError as exc:
        storage.delete_quietly(written)
        return media_fail(media_id=media.id, message=str(exc))
    except Exception:  # noqa: BLE001 - never leave a row processing forever
        logger.exception("Processing media %s failed", media_id)
        storage.delete_quietly(written)
        return media_fail(media_id=media.id, message=FAILED_MESSAGE)
    return _finish(media.id, result)


def _claim(media_id: uuid.UUID | str) -> Media | None:
    try:
        pk = uuid.UUID(str(media_id))
    except ValueError:
        return None
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=pk).first()
        if media is None or media.status != Media.Status.PROCESSING:
            return None
        if _refiltering(media):  # processed already; `media_refilter` owns it now
            return None
        media.attempts += 1
        media.save(update_fields=["attempts"])
        return media


def _refiltering(media: Media) -> bool:
    """A processed image sent back to `processing` to get a new filter (its upload is gone)."""
    return media.kind == Media.Kind.IMAGE and not media.upload.name and bool(media.variants)


def _finish(media_id: uuid.UUID, result: Processed) -> Media | None:
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id).first()
        if media is None:  # deleted by its owner or the sweeper while this run worked
            transaction.on_commit(lambda: storage.delete_quietly(sorted(storage.paths(result.variants))))
            return None
        if media.status != Media.Status.PROCESSING:  # another run settled it meanwhile
            stale = set(storage.paths(result.variants)) - set(storage.paths(media.variants))
            transaction.on_commit(lambda: storage.delete_quietly(sorted(stale)))
            return media
        upload_name = media.upload.name
        media.error = ""
        media.variants = result.variants
        media.width, media.height = result.width, result.height
        media.duration = result.duration
        media.blurhash = result.blurhash
        media.processed_at = timezone.now()
        media.upload = ""
        refilter = media.kind == Media.Kind.IMAGE and media.filter != result.filter
        if refilter:
            # A post changed the filter while this run was working: keep the row processing and
            # let `media_refilter` remake the variants from "source" with the new filter.
            media.save()
            _delete_on_commit(upload_name)
            _refilter_on_commit(media)
            return media
        media.status = Media.Status.READY
        media.save()
        _delete_on_commit(upload_name)
        _settled(media)
        return media


def _refilter_on_commit(media: Media) -> None:
    Media.objects.filter(pk=media.pk).update(queued_at=timezone.now())
    outbox.enqueue(tasks.refilter_media, str(media.id), media.filter)


def media_refilter(*, media_id: uuid.UUID | str, filter: str) -> Media | None:
    """Remake a processed image's variants and blurhash with its (new) filter. Idempotent.

    Runs on an image that `posts.services.post_create` (or `_finish`) sent back to `processing`
    after changing its filter; anything else (missing, ready, failed, a video, a row still waiting
    for its first processing) is a no-op returning None. The variants are made from the unfiltered
    "source" variant; the row's current filter wins over `filter` (the one asked for when the task
    was queued) should they differ. Storage errors raise StorageUnavailable (the task retries);
    other failures mark the row failed, like `media_process`.

    Media processed before "source" existed have only their "original". `post_create` sends such
    media here only when they had no filter before: that original is then the unfiltered image,
    so the new filter is applied to it (and it is kept as "source" for next time). One that had a
    filter can't be un-filtered, so `post_create` leaves it as it is and logs it instead.
    """
    media = _claim_refilter(media_id)
    if media is None:
        return None
    if media.filter != filter:
        logger.info("Media %s: refiltering with %r, not %r (changed since queued)", media_id, media.filter, filter)
    written: list[str] = []
    try:
        result = _refilter_image(media, written)
    except StorageUnavailable:
        storage.delete_quietly(written)
        raise
    except MediaProcessingError as exc:
        storage.delete_quietly(written)
        return media_fail(media_id=media.id, message=str(exc))
    except Exception:  # noqa: BLE001 - never leave a row processing forever
        logger.exception("Refiltering media %s failed", media_id)
        storage.delete_quietly(written)
        return media_fail(media_id=media.id, message=FAILED_MESSAGE)
    return _finish_refilter(media, result)


def _claim_refilter(media_id: uuid.UUID | str) -> Media | None:
    try:
        pk = uuid.UUID(str(media_id))
    except ValueError:
        return None
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=pk).first()
        if media is None or media.status != Media.Status.PROCESSING or not _refiltering(media):
            return None
        media.attempts += 1
        media.save(update_fields=["attempts"])
        return media


def _read_stored_image(name: str, workdir: str) -> Any:
    with open(storage.download(name, workdir), "rb") as handle:
        return decode_image(handle)


def _refilter_image(media: Media, written: list[str]) -> Processed:
    """Processed variants from "source" (or, for older media, the unfiltered "original")."""
    source = media.variants.get("source") or {}
    original = media.variants.get("original") or {}
    stamp = uuid.uuid4().hex[:8]  # new names: the old files stay valid until the row commits
    with tempfile.TemporaryDirectory(prefix="media-") as workdir:
        if source.get("path"):
            image = _read_stored_image(source["path"], workdir)
            source_variant = source
        elif original.get("path"):  # processed before "source"; unfiltered (see media_refilter)
            image = _read_stored_image(original["path"], workdir)
            source_variant = store_image(media, f"source-{stamp}", image, written)
        else:
            raise MediaProcessingError("This image can't be processed again. Please upload it again.")
    result: Processed = image_variants(media, image, media.filter, written, stamp=stamp)
    result.variants["source"] = source_variant
    return result


def _finish_refilter(media: Media, result: Processed) -> Media | None:
    with transaction.atomic():
        row = Media.objects.select_for_update().filter(pk=media.pk).first()
        if row is None:  # deleted while this run worked
            transaction.on_commit(lambda: storage.delete_quietly(sorted(storage.paths(result.variants))))
            return None
        if row.status != Media.Status.PROCESSING or row.filter != result.filter:
            # Settled meanwhile, or the filter changed again while this run worked: go again.
            stale = set(storage.paths(result.variants)) - set(storage.paths(row.variants))
            transaction.on_commit(lambda: storage.delete_quietly(sorted(stale)))
            if row.status == Media.Status.PROCESSING:
                _refilter_on_commit(row)
            return row
        stale = set(storage.paths(row.variants)) - set(storage.paths(result.variants))
        row.status = Media.Status.READY
        row.error = ""
        row.variants = result.variants
        row.width, row.height = result.width, result.height
        row.blurhash = result.blurhash
        row.processed_at = timezone.now()
        row.save()
        transaction.on_commit(lambda: storage.delete_quietly(sorted(stale)))
        _settled(row)
        return row


def media_resume_stalled(*, limit: int = 500) -> int:
    """Media still processing MEDIA_PROCESSING_DEADLINE seconds after they were queued (a worker
    killed mid-run, a task lost with the broker): queued again, or marked failed once
    MEDIA_PROCESSING_ATTEMPTS runs have started (the post then fails too). Returns how many."""
    now = timezone.now()
    stalled_before = now - timedelta(seconds=settings.MEDIA_PROCESSING_DEADLINE)
    stalled = Media.objects.filter(status=Media.Status.PROCESSING, queued_at__lt=stalled_before)
    handled = 0
    for media_id in stalled.values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            media = stalled.select_for_update(skip_locked=True).filter(pk=media_id).first()
            if media is None:
                continue
            handled += 1
            if media.attempts >= settings.MEDIA_PROCESSING_ATTEMPTS:
                logger.warning("Media %s: %d runs and still processing; marked failed", media_id, media.attempts)
                media_fail(media_id=media_id, message=TOO_SLOW_MESSAGE)
                continue
            logger.warning(
                "Media %s: still processing after the deadline (%d runs); queued again", media_id, media.attempts
            )
            media.queued_at = now
            media.save(update_fields=["queued_at"])
            if _refiltering(media):
                outbox.enqueue(tasks.refilter_media, str(media_id), media.filter)
            else:
                outbox.enqueue(tasks.process_media, str(media_id))
    return handled


def media_fail(*, media_id: uuid.UUID | str, message: str) -> Media | None:
    """Mark a processing item failed with a message for its owner; the raw upload is deleted."""
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id).first()
        if media is None or media.status != Media.Status.PROCESSING:
            return media
        upload_name = media.upload.name
        media.status = Media.Status.FAILED
        transaction.on_commit(metrics.MEDIA_FAILURES.labels(media.kind).inc)
        media.error = message[:300]
        media.processed_at = timezone.now()
        media.upload = ""
        media.save()
        _delete_on_commit(upload_name)
        _settled(media)
        return media


def _delete_on_commit(name: str | None) -> None:
    if not name:
        return
    from accounts import tasks as accounts_tasks

    outbox.enqueue(accounts_tasks.delete_stored_file, name)


def _settled(media: Media) -> None:
    """Tell the app that attached the item (a post) that it settled; its receivers queue their
    work through the outbox in this transaction, so it runs once the status is committed."""
    if media.post_id:
        media_settled.send(sender=Media, media=media)
