"""What an upload is, decided by decoding it (Pillow for images, ffprobe for videos), never by its
name or content type; what is obviously bad is refused with a message for the uploader."""

import contextlib
import shutil
import tempfile
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from media.images import ACCEPTED_IMAGE_FORMATS
from media.limits import VIDEO_MAX_INPUT_PIXELS, image_max_bytes, image_max_pixels, video_max_bytes, video_max_seconds
from media.models import Media
from media.probe import display_size, duration, ffprobe, video_stream
from socialsite.errors import ServiceError

VIDEO_EXTENSIONS = {"mov": "mp4", "matroska": "mkv", "webm": "webm", "avi": "avi", "mpegts": "ts", "flv": "flv"}


@dataclass
class Sniffed:
    kind: str
    extension: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None


def _reject(message, code):
    return ServiceError(message, code=code, fields={"file": [message]})


def _megabytes(size):
    return f"{size / 2**20:g} MB"


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


def _sniff_video(path):
    probe = ffprobe(path)
    if probe is None:
        return None
    stream = video_stream(probe)
    if stream is None:
        raise _reject("The file has no video in it.", "no_video_stream")
    width, height = display_size(stream)
    if width <= 0 or height <= 0:
        raise _reject("That video is damaged or in a format we can't read.", "invalid_video")
    if width * height > VIDEO_MAX_INPUT_PIXELS:
        raise _reject("The video's resolution is too high.", "video_too_large")
    seconds = duration(probe, stream)
    if seconds is not None and seconds > video_max_seconds() + 0.5:
        raise _reject(f"The video is longer than {video_max_seconds()} seconds.", "video_too_long")
    demuxer = probe.get("format", {}).get("format_name", "").split(",")[0]
    return Sniffed(Media.Kind.VIDEO, VIDEO_EXTENSIONS.get(demuxer, "bin"), width, height, seconds)


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
