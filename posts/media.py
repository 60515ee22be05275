"""Post media: check uploads by decoding them, then process them in the media worker.

On upload, `media_create` sniffs the kind by decoding (Pillow for images, ffprobe for videos),
never by the name or content type, rejects what is obviously bad, stores the raw upload and
enqueues `posts.tasks.process_media` on commit. The worker (`media_process`) makes the variants:

- images: decoded fully, EXIF orientation applied, converted to sRGB, filtered, re-encoded
  without any metadata as JPEG (WebP when the image has real transparency) in three sizes,
  plus an unfiltered "source" copy (the capped original before the filter, never shown in the
  API) so a post can later change the filter with `media_refilter`;
- videos: transcoded by ffmpeg to H.264/AAC MP4 with faststart and no metadata, scaled to fit
  1080p, with the same named filter as an ffmpeg filter chain, plus a poster frame and a thumbnail.

Every file goes through `default_storage` by way of temporary files, so S3 works as well as a
local folder. A storage outage is transient (`StorageUnavailable`, retried by the task); any
other problem is permanent and leaves a user-facing message in `Media.error`.
"""

import contextlib
import io
import json
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from datetime import timedelta

import blurhash as blurhash_lib
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageCms, ImageEnhance, ImageOps, UnidentifiedImageError

from posts.models import Media
from socialsite import outbox
from socialsite.errors import ConflictError, NotFoundError, ServiceError

logger = logging.getLogger(__name__)

ACCEPTED_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# Demuxers ffprobe/ffmpeg may use on an upload. Playlists (hls, concat) and image demuxers are
# left out: they can reach other files or are not videos.
VIDEO_DEMUXERS = ("mov", "matroska", "webm", "avi", "mpegts", "flv", "ogg", "mpeg")
VIDEO_EXTENSIONS = {"mov": "mp4", "matroska": "mkv", "webm": "webm", "avi": "avi", "mpegts": "ts", "flv": "flv"}
IMAGE_VARIANTS = (("original", 2048), ("medium", 1080), ("thumbnail", 320))
THUMBNAIL_SIZE = 320
ALT_TEXT_MAX = 1000
VIDEO_MAX_FPS = 60
VIDEO_MAX_INPUT_PIXELS = 8192 * 4320  # 8K; larger inputs cost too much to decode
FFPROBE_TIMEOUT_SECONDS = 30
POSTER_TIMEOUT_SECONDS = 60
STORAGE_PREFIX = "posts/media"

try:  # the S3 backend's errors, when boto is installed
    from botocore.exceptions import BotoCoreError, ClientError

    STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)
except ImportError:  # pragma: no cover
    STORAGE_ERRORS = (OSError,)


# --- Limits (settings, read on each use so they can be changed at run time) ----------------------------


def _limit(name, default):
    return getattr(settings, name, default)


def image_max_bytes():
    return _limit("MEDIA_IMAGE_MAX_BYTES", 16 * 2**20)


def image_max_pixels():
    return _limit("MEDIA_IMAGE_MAX_PIXELS", 40_000_000)


def video_max_bytes():
    return _limit("MEDIA_VIDEO_MAX_BYTES", 99 * 2**20)


def video_max_seconds():
    return _limit("MEDIA_VIDEO_MAX_SECONDS", 180)


def video_max_height():
    """The short side of the output video: 1080 fits 1920x1080 landscape or 1080x1920 portrait."""
    return _limit("MEDIA_VIDEO_MAX_HEIGHT", 1080)


def ffmpeg_timeout():
    return _limit("MEDIA_FFMPEG_TIMEOUT", 900)


def ffmpeg_binary():
    return _limit("FFMPEG_BINARY", "ffmpeg")


def ffprobe_binary():
    return _limit("FFPROBE_BINARY", "ffprobe")


# --- Errors -------------------------------------------------------------------------------------------


class MediaProcessingError(Exception):
    """A permanent processing failure; the message is shown to the owner."""


class StorageUnavailable(Exception):
    """Reading or writing storage failed; the task retries with backoff."""


def _reject(message, code):
    return ServiceError(message, code=code, fields={"file": [message]})


def _megabytes(size):
    return f"{size / 2**20:g} MB"


# --- Filters ------------------------------------------------------------------------------------------

SEPIA_MATRIX = (0.393, 0.769, 0.189, 0, 0.349, 0.686, 0.168, 0, 0.272, 0.534, 0.131, 0)


def _curves(image, red, green, blue):
    """Apply one tone curve per channel (each a function of 0..255) as a lookup table."""
    table = []
    for curve in (red, green, blue):
        table.extend(max(0, min(255, round(curve(value)))) for value in range(256))
    return image.point(table)


def _grayscale(image):
    return ImageOps.grayscale(image).convert("RGB")


def _sepia(image):
    return image.convert("RGB", SEPIA_MATRIX)


def _vivid(image):
    return ImageEnhance.Contrast(ImageEnhance.Color(image).enhance(1.4)).enhance(1.12)


def _cool(image):
    return _curves(image, lambda v: v * 0.88, lambda v: v * 0.97 + 4, lambda v: v * 0.92 + 30)


def _warm(image):
    return _curves(image, lambda v: v * 0.92 + 30, lambda v: v * 0.97 + 6, lambda v: v * 0.85)


def _fade(image):
    image = ImageEnhance.Color(image).enhance(0.8)
    lift = lambda v: 40 + v * 0.78  # noqa: E731 - blacks lifted, whites lowered: less contrast
    return _curves(image, lift, lift, lift)


# Keyed by the names of posts.services.FILTERS.
IMAGE_FILTERS = {
    "grayscale": _grayscale,
    "sepia": _sepia,
    "vivid": _vivid,
    "cool": _cool,
    "warm": _warm,
    "fade": _fade,
}


def apply_filter(image, name):
    """Return `image` (RGB or RGBA) with the named filter applied; transparency is kept."""
    if not name:
        return image
    alpha = image.getchannel("A") if image.mode == "RGBA" else None
    result = IMAGE_FILTERS[name](image.convert("RGB"))
    if alpha is not None:
        result.putalpha(alpha)
    return result


# --- Upload: sniff, check, store, enqueue ---------------------------------------------------------------


@dataclass
class Sniffed:
    kind: str
    extension: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None


def _open_image(fileobj):
    """Open from the header only. None when Pillow does not recognise it; bombs raise."""
    fileobj.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(fileobj)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _reject("The image has too many pixels.", "image_too_large")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        return None


def _check_pixels(image):
    width, height = image.size
    if width * height > image_max_pixels():
        megapixels = image_max_pixels() / 1_000_000
        raise _reject(f"The image has too many pixels (at most {megapixels:g} megapixels).", "image_too_large")


def _sniff_image(image):
    _check_pixels(image)  # from the header, before any decoding
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if image.format == "JPEG":
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))  # reads it all, cheaply
            image.load()  # the real decode: truncated or corrupt files fail here
    except Exception:  # noqa: BLE001 - untrusted input: any decoder failure means "not readable"
        raise _reject("That image is damaged or incomplete.", "invalid_image")
    return Sniffed(Media.Kind.IMAGE, ACCEPTED_IMAGE_FORMATS[image.format], *image.size)


@contextlib.contextmanager
def _local_path(upload):
    """A filesystem path holding the upload's bytes (the upload's own temp file when it has one)."""
    if hasattr(upload, "temporary_file_path"):
        yield upload.temporary_file_path()
        return
    with tempfile.NamedTemporaryFile(prefix="upload-") as handle:
        upload.seek(0)
        shutil.copyfileobj(upload, handle)
        handle.flush()
        yield handle.name


def ffprobe(path, timeout=FFPROBE_TIMEOUT_SECONDS):
    """ffprobe's JSON (format and streams) for a video file, or None when it can't read it."""
    command = [
        ffprobe_binary(),
        *("-v", "error", "-format_whitelist", ",".join(VIDEO_DEMUXERS)),
        *("-print_format", "json", "-show_format", "-show_streams"),
        f"file:{path}",
    ]
    try:
        # A fixed argument list without a shell; the only path is our own temporary file.
        result = subprocess.run(command, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)  # noqa: S603
    except FileNotFoundError:
        logger.warning("ffprobe is not installed; videos can't be read")
        return None
    except subprocess.TimeoutExpired:
        return None
    if result.returncode != 0:
        return None
    try:
        return json.loads(result.stdout)
    except ValueError:
        return None


def _video_stream(probe):
    for stream in probe.get("streams", []):
        if stream.get("codec_type") == "video" and not stream.get("disposition", {}).get("attached_pic"):
            return stream
    return None


def _duration(probe, stream=None):
    for source in (probe.get("format", {}), stream or {}):
        try:
            value = float(source.get("duration"))
        except (TypeError, ValueError):
            continue
        if value > 0:
            return value
    return None


def _display_size(stream):
    """Width and height as shown, after the rotation a phone recorded."""
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    rotation = 0
    for side_data in stream.get("side_data_list", []):
        if "rotation" in side_data:
            rotation = int(side_data["rotation"])
    rotation = int(stream.get("tags", {}).get("rotate", rotation))
    if abs(rotation) % 180 == 90:
        width, height = height, width
    return width, height


def _sniff_video(path):
    probe = ffprobe(path)
    if probe is None:
        return None
    stream = _video_stream(probe)
    if stream is None:
        raise _reject("The file has no video in it.", "no_video_stream")
    width, height = _display_size(stream)
    if width <= 0 or height <= 0:
        raise _reject("That video is damaged or in a format we can't read.", "invalid_video")
    if width * height > VIDEO_MAX_INPUT_PIXELS:
        raise _reject("The video's resolution is too high.", "video_too_large")
    duration = _duration(probe, stream)
    if duration is not None and duration > video_max_seconds() + 0.5:
        raise _reject(f"The video is longer than {video_max_seconds()} seconds.", "video_too_long")
    demuxer = probe.get("format", {}).get("format_name", "").split(",")[0]
    return Sniffed(Media.Kind.VIDEO, VIDEO_EXTENSIONS.get(demuxer, "bin"), width, height, duration)


def _too_large(limit):
    return _reject(f"The file is larger than {_megabytes(limit)}.", "file_too_large")


def sniff_upload(upload):
    """Decide what the upload is by decoding it; raise ServiceError for what is obviously bad."""
    size = upload.size or 0
    if size == 0:
        raise _reject("The file is empty.", "empty_file")
    largest = max(image_max_bytes(), video_max_bytes())
    if size > largest:
        raise _too_large(largest)
    image = _open_image(upload)
    if image is not None and image.format in ACCEPTED_IMAGE_FORMATS:
        if size > image_max_bytes():
            raise _too_large(image_max_bytes())
        return _sniff_image(image)
    with _local_path(upload) as path:
        video = _sniff_video(path)
    if video is not None:
        if size > video_max_bytes():
            raise _too_large(video_max_bytes())
        return video
    if image is not None:
        raise _reject("Use a JPEG, PNG, WebP or GIF image.", "unsupported_image")
    raise _reject(
        "That file is not an image or video we can read. Use JPEG, PNG, WebP or GIF images, "
        "or MP4, MOV, WebM or MKV videos.",
        "unsupported_file",
    )


def validate_filter(name):
    name = (name or "").strip()
    if name and name not in IMAGE_FILTERS:
        raise ServiceError(
            "Unknown filter.",
            code="invalid_filter",
            fields={"filter": [f"Use one of: {', '.join(IMAGE_FILTERS)}."]},
        )
    return name


def media_create(*, owner, upload, alt_text="", filter=""):
    """Check and store an upload as a Media row in `processing`; the worker runs after commit."""
    alt_text = (alt_text or "").strip()
    if len(alt_text) > ALT_TEXT_MAX:
        raise ServiceError("The alt text is too long.", fields={"alt_text": [f"At most {ALT_TEXT_MAX} characters."]})
    filter = validate_filter(filter)
    sniffed = sniff_upload(upload)  # before the transaction: ffprobe may take a while
    with transaction.atomic():
        media = Media(owner=owner, kind=sniffed.kind, alt_text=alt_text, filter=filter)
        upload.seek(0)
        media.upload.save(f"{media.id.hex}.{sniffed.extension}", File(upload), save=False)
        media.save()

        from posts import tasks

        outbox.enqueue(tasks.process_media, str(media.id))
    return media


def media_get_owned(*, user, media_id):
    """The caller's own media item; anyone else's answers 404."""
    media = Media.objects.filter(pk=media_id, owner=user).first() if user.is_authenticated else None
    if media is None:
        raise NotFoundError("No such media.")
    return media


def media_delete(*, user, media_id):
    """Delete one of the caller's uploads that no post uses: the row now, its files after commit.
    Anyone else's answers 404; one in a post answers 409 (edit or delete the post instead)."""
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id, owner=user).first()
        if media is None:
            raise NotFoundError("No such media.")
        if media.post_id is not None:
            raise ConflictError("This media is in a post; edit or delete the post instead.", code="media_in_post")
        _delete_row(media)


def media_prune_unattached(*, limit=500):
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


def _delete_row(media):
    names = [media.upload.name, *_paths(media.variants or {})]
    media.delete()
    for name in names:
        _delete_on_commit(name)  # a worker still processing it finds the row gone and cleans up


# --- Worker ---------------------------------------------------------------------------------------------


@dataclass
class Processed:
    variants: dict
    width: int
    height: int
    blurhash: str
    duration: float | None = None
    filter: str = ""  # the filter the variants were made with


def media_process(*, media_id):
    """Process one media item. A row that is missing, ready or failed is left alone.

    Raises StorageUnavailable when storage fails (the task retries); every other failure marks
    the row failed with a message for its owner. Returns the media row, or None for a no-op.
    """
    media = _claim(media_id)
    if media is None:
        return None
    written = []
    try:
        with tempfile.TemporaryDirectory(prefix="media-") as workdir:
            source = _download(media.upload.name, workdir)
            if media.kind == Media.Kind.VIDEO:
                result = _process_video(media, source, workdir, written)
            else:
                result = _process_image(media, source, written)
    except StorageUnavailable:
        _delete_quietly(written)
        raise
    except MediaProcessingError as exc:
        _delete_quietly(written)
        return media_fail(media_id=media_id, message=str(exc))
    except Exception:  # noqa: BLE001 - never leave a row processing forever
        logger.exception("Processing media %s failed", media_id)
        _delete_quietly(written)
        return media_fail(media_id=media_id, message="Something went wrong while processing this file.")
    return _finish(media_id, result)


def _claim(media_id):
    try:
        media_id = uuid.UUID(str(media_id))
    except ValueError:
        return None
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id).first()
        if media is None or media.status != Media.Status.PROCESSING:
            return None
        if _refiltering(media):  # processed already; `media_refilter` owns it now
            return None
        media.attempts += 1
        media.save(update_fields=["attempts"])
        return media


def _refiltering(media):
    """A processed image sent back to `processing` to get a new filter (its upload is gone)."""
    return media.kind == Media.Kind.IMAGE and not media.upload.name and bool(media.variants)


def _finish(media_id, result):
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id).first()
        if media is None:  # deleted by its owner or the sweeper while this run worked
            transaction.on_commit(lambda: _delete_quietly(sorted(_paths(result.variants))))
            return None
        if media.status != Media.Status.PROCESSING:  # another run settled it meanwhile
            stale = set(_paths(result.variants)) - set(_paths(media.variants))
            transaction.on_commit(lambda: _delete_quietly(sorted(stale)))
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
        _settle_on_commit(media)
        return media


def _refilter_on_commit(media):
    from posts import tasks

    Media.objects.filter(pk=media.pk).update(queued_at=timezone.now())
    outbox.enqueue(tasks.refilter_media, str(media.id), media.filter)


def media_refilter(*, media_id, filter):
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
    written = []
    try:
        result = _refilter_image(media, written)
    except StorageUnavailable:
        _delete_quietly(written)
        raise
    except MediaProcessingError as exc:
        _delete_quietly(written)
        return media_fail(media_id=media.id, message=str(exc))
    except Exception:  # noqa: BLE001 - never leave a row processing forever
        logger.exception("Refiltering media %s failed", media_id)
        _delete_quietly(written)
        return media_fail(media_id=media.id, message="Something went wrong while processing this file.")
    return _finish_refilter(media, result)


def _claim_refilter(media_id):
    try:
        media_id = uuid.UUID(str(media_id))
    except ValueError:
        return None
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id).first()
        if media is None or media.status != Media.Status.PROCESSING or not _refiltering(media):
            return None
        media.attempts += 1
        media.save(update_fields=["attempts"])
        return media


def _read_stored_image(name, workdir):
    with open(_download(name, workdir), "rb") as handle:
        return decode_image(handle)


def _refilter_image(media, written):
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
            source_variant = _store_image(media, f"source-{stamp}", image, written)
        else:
            raise MediaProcessingError("This image can't be processed again. Please upload it again.")
    result = _image_variants(media, image, media.filter, written, stamp=stamp)
    result.variants["source"] = source_variant
    return result


def _finish_refilter(media, result):
    with transaction.atomic():
        row = Media.objects.select_for_update().filter(pk=media.pk).first()
        if row is None:  # deleted while this run worked
            transaction.on_commit(lambda: _delete_quietly(sorted(_paths(result.variants))))
            return None
        if row.status != Media.Status.PROCESSING or row.filter != result.filter:
            # Settled meanwhile, or the filter changed again while this run worked: go again.
            stale = set(_paths(result.variants)) - set(_paths(row.variants))
            transaction.on_commit(lambda: _delete_quietly(sorted(stale)))
            if row.status == Media.Status.PROCESSING:
                _refilter_on_commit(row)
            return row
        stale = set(_paths(row.variants)) - set(_paths(result.variants))
        row.status = Media.Status.READY
        row.error = ""
        row.variants = result.variants
        row.width, row.height = result.width, result.height
        row.blurhash = result.blurhash
        row.processed_at = timezone.now()
        row.save()
        transaction.on_commit(lambda: _delete_quietly(sorted(stale)))
        _settle_on_commit(row)
        return row


TOO_SLOW_MESSAGE = "Processing this file took too long. Please upload it again."


def media_resume_stalled(*, limit=500):
    """Media still processing MEDIA_PROCESSING_DEADLINE seconds after they were queued (a worker
    killed mid-run, a task lost with the broker): queued again, or marked failed once
    MEDIA_PROCESSING_ATTEMPTS runs have started (the post then fails too). Returns how many."""
    from posts import tasks

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


def media_fail(*, media_id, message):
    """Mark a processing item failed with a message for its owner; the raw upload is deleted."""
    with transaction.atomic():
        media = Media.objects.select_for_update().filter(pk=media_id).first()
        if media is None or media.status != Media.Status.PROCESSING:
            return media
        upload_name = media.upload.name
        media.status = Media.Status.FAILED
        media.error = message[:300]
        media.processed_at = timezone.now()
        media.upload = ""
        media.save()
        _delete_on_commit(upload_name)
        _settle_on_commit(media)
        return media


def _delete_on_commit(name):
    if not name:
        return
    from accounts import tasks

    outbox.enqueue(tasks.delete_stored_file, name)


def _settle_on_commit(media):
    """Tell the post (if any) that one of its media items settled, once the status is committed."""
    if not media.post_id:
        return
    from posts import tasks

    outbox.enqueue(tasks.settle_post_media, str(media.post_id))


def _paths(variants):
    return [variant["path"] for variant in variants.values() if variant.get("path")]


def _delete_quietly(names):
    for name in names:
        try:
            default_storage.delete(name)
        except STORAGE_ERRORS:
            logger.warning("Could not delete %s", name)


def _download(name, workdir):
    """Copy the raw upload from storage into the work directory."""
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


def _store(name, fileobj, written):
    """Save under exactly `name` (replacing a copy from an earlier attempt); return the stored name."""
    try:
        if default_storage.exists(name):
            default_storage.delete(name)
        stored = default_storage.save(name, File(fileobj, name=os.path.basename(name)))
    except STORAGE_ERRORS as exc:
        raise StorageUnavailable(f"Writing {name} failed: {exc}") from exc
    written.append(stored)
    return stored


def _prefix(media):
    return f"{STORAGE_PREFIX}/{media.id}"


# --- Images -------------------------------------------------------------------------------------------


def _has_alpha(image):
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _to_srgb(image):
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # an unreadable profile: keep the pixels as they are


def _normalize(image):
    """RGB, or RGBA when the image really has transparency."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if _has_alpha(image):
        image = image.convert("RGBA")
        if image.getchannel("A").getextrema()[0] == 255:
            image = image.convert("RGB")
    else:
        image = image.convert("RGB")
    return image


def decode_image(fileobj):
    """Fully decode an image file into an upright sRGB RGB/RGBA image carrying no metadata."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            fileobj.seek(0)
            image = Image.open(fileobj)
            if image.format not in ACCEPTED_IMAGE_FORMATS:
                raise MediaProcessingError("This file is not a JPEG, PNG, WebP or GIF image.")
            if image.width * image.height > image_max_pixels():
                raise MediaProcessingError("The image has too many pixels.")
            image.load()
            image = ImageOps.exif_transpose(image)
            image = _normalize(_to_srgb(image))
    except MediaProcessingError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted input
        raise MediaProcessingError("This image could not be read. It may be damaged or incomplete.") from exc
    image.info = {}  # no EXIF, GPS, XMP, ICC or comments travel into the outputs
    return image


def _fit(image, long_side):
    width, height = image.size
    scale = min(1.0, long_side / max(width, height))
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def encode_image(image):
    """(bytes, extension, content type): JPEG, or WebP when there is transparency to keep."""
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, format="WEBP", quality=85, method=4)
        return out.getvalue(), "webp", "image/webp"
    image.convert("RGB").save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue(), "jpg", "image/jpeg"


def _flatten(image):
    if image.mode != "RGBA":
        return image.convert("RGB")
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background


def compute_blurhash(image):
    """A blurhash from a 32x32 thumbnail (the encoder is pure Python)."""
    small = _flatten(image)
    small.thumbnail((32, 32), Image.Resampling.BILINEAR)
    width, height = small.size
    data = small.tobytes()
    rows = [[tuple(data[(y * width + x) * 3 : (y * width + x) * 3 + 3]) for x in range(width)] for y in range(height)]
    components = (4, 3) if width >= height else (3, 4)
    return blurhash_lib.encode(rows, *components)


def _store_image(media, name, image, written):
    data, extension, content_type = encode_image(image)
    path = _store(f"{_prefix(media)}/{name}.{extension}", io.BytesIO(data), written)
    return {"path": path, "width": image.width, "height": image.height, "content_type": content_type}


def _process_image(media, source, written):
    with open(source, "rb") as handle:
        image = _fit(decode_image(handle), IMAGE_VARIANTS[0][1])
    # The unfiltered, metadata-free source a later filter change starts from (not in the API).
    source_variant = _store_image(media, "source", image, written)
    result = _image_variants(media, image, media.filter, written)
    result.variants["source"] = source_variant
    return result


def _image_variants(media, image, filter, written, stamp=""):
    """The filtered original, medium and thumbnail of an unfiltered `image`, and its blurhash."""
    image = apply_filter(image, filter)
    variants = {}
    current = image
    for name, long_side in IMAGE_VARIANTS:  # largest first; each size is made from the previous one
        current = _fit(current, long_side)
        variants[name] = _store_image(media, f"{name}-{stamp}" if stamp else name, current, written)
    original = variants["original"]
    return Processed(variants, original["width"], original["height"], compute_blurhash(current), filter=filter)


# --- Videos -------------------------------------------------------------------------------------------


def _lut(red, green, blue):
    return f"lutrgb=r='{red}':g='{green}':b='{blue}'"


# The same named filters as ffmpeg filter chains, so a video (and its poster) looks like the photos.
VIDEO_FILTERS = {
    "grayscale": "hue=s=0",
    "sepia": "colorchannelmixer=" + ":".join(str(value) for value in SEPIA_MATRIX),  # rr:rg:rb:ra:gr:...
    "vivid": "eq=saturation=1.4:contrast=1.12",
    "cool": _lut("val*0.88", "val*0.97+4", "val*0.92+30"),
    "warm": _lut("val*0.92+30", "val*0.97+6", "val*0.85"),
    "fade": "eq=saturation=0.8," + _lut("40+val*0.78", "40+val*0.78", "40+val*0.78"),
}


def fit_video(width, height, short_side=None):
    """The output size: within short_side on the short edge (16:9 of it on the long), even numbers."""
    short_side = short_side or video_max_height()
    long_side = short_side * 16 // 9
    scale = min(1.0, long_side / max(width, height), short_side / min(width, height))
    even = lambda value: max(2, int(value * scale) // 2 * 2)  # noqa: E731
    return even(width), even(height)


def _frame_rate(stream):
    try:
        numerator, denominator = (int(part) for part in stream.get("avg_frame_rate", "0/1").split("/"))
        return numerator / denominator if denominator else 0
    except ValueError:
        return 0


def _run(command, timeout, failure):
    try:
        # A fixed argument list without a shell; the only path is our own temporary file.
        result = subprocess.run(command, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)  # noqa: S603
    except FileNotFoundError as exc:
        raise MediaProcessingError("Video processing is not available right now.") from exc
    except subprocess.TimeoutExpired as exc:
        raise MediaProcessingError("Processing this video took too long.") from exc
    if result.returncode != 0:
        logger.warning("%s failed: %s", command[0], result.stderr.decode(errors="replace")[-2000:])
        raise MediaProcessingError(failure)


def _process_video(media, source, workdir, written):
    probe = ffprobe(source)
    stream = _video_stream(probe) if probe else None
    if stream is None:
        raise MediaProcessingError("This video could not be read. It may be damaged or have no picture.")
    width, height = fit_video(*_display_size(stream))
    filters = [f"scale={width}:{height}:flags=lanczos", "setsar=1"]
    if _frame_rate(stream) > VIDEO_MAX_FPS:
        filters.append(f"fps={VIDEO_MAX_FPS}")
    if media.filter:
        filters.append(VIDEO_FILTERS[media.filter])
    filters.append("format=yuv420p")
    output = os.path.join(workdir, "video.mp4")
    _run(
        [
            ffmpeg_binary(),
            *("-nostdin", "-hide_banner", "-v", "error", "-y"),
            *("-format_whitelist", ",".join(VIDEO_DEMUXERS), "-i", f"file:{source}"),
            *("-t", str(video_max_seconds())),
            *("-map", "0:v:0", "-map", "0:a:0?", "-vf", ",".join(filters)),
            *("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"),
            *("-c:a", "aac", "-b:a", "128k", "-ac", "2"),
            *("-map_metadata", "-1", "-map_chapters", "-1"),
            *("-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"),
            *("-movflags", "+faststart", "-f", "mp4", f"file:{output}"),
        ],
        ffmpeg_timeout(),
        "This video could not be converted. It may be damaged or use an unsupported format.",
    )
    result = ffprobe(output)
    out_stream = _video_stream(result) if result else None
    if out_stream is None:
        raise MediaProcessingError("This video could not be converted.")
    duration = _duration(result, out_stream) or 0.0
    poster_path = os.path.join(workdir, "poster.jpg")
    _run(
        [
            ffmpeg_binary(),
            *("-nostdin", "-hide_banner", "-v", "error", "-y"),
            *("-ss", "1" if duration > 1.5 else "0", "-i", f"file:{output}"),
            *("-frames:v", "1", "-q:v", "2", "-update", "1", f"file:{poster_path}"),
        ],
        POSTER_TIMEOUT_SECONDS,
        "No poster frame could be taken from this video.",
    )
    with open(poster_path, "rb") as handle:
        poster = decode_image(handle)
    prefix = _prefix(media)
    with open(output, "rb") as handle:
        video_path = _store(f"{prefix}/video.mp4", handle, written)
    variants = {
        "video": {
            "path": video_path,
            "width": int(out_stream["width"]),
            "height": int(out_stream["height"]),
            "content_type": "video/mp4",
            "duration": round(duration, 3),
        },
        "poster": _store_image(media, "poster", poster, written),
        "thumbnail": _store_image(media, "thumbnail", _fit(poster, THUMBNAIL_SIZE), written),
    }
    return Processed(
        variants,
        variants["video"]["width"],
        variants["video"]["height"],
        compute_blurhash(poster),
        duration=round(duration, 3),
    )
