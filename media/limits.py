"""The limits on uploads and processing: settings, read on each use so they can change at run time."""

from typing import Any

from django.conf import settings

ALT_TEXT_MAX = 1000
VIDEO_MAX_FPS = 60
VIDEO_MAX_INPUT_PIXELS = 8192 * 4320  # 8K; larger inputs cost too much to decode
FFPROBE_TIMEOUT_SECONDS = 30
POSTER_TIMEOUT_SECONDS = 60


def _limit(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def image_max_bytes() -> int:
    return _limit("MEDIA_IMAGE_MAX_BYTES", 16 * 2**20)


def image_max_pixels() -> int:
    return _limit("MEDIA_IMAGE_MAX_PIXELS", 40_000_000)


def video_max_bytes() -> int:
    return _limit("MEDIA_VIDEO_MAX_BYTES", 99 * 2**20)


def video_max_seconds() -> int:
    return _limit("MEDIA_VIDEO_MAX_SECONDS", 180)


def video_max_height() -> int:
    """The short side of the output video: 1080 fits 1920x1080 landscape or 1080x1920 portrait."""
    return _limit("MEDIA_VIDEO_MAX_HEIGHT", 1080)


def ffmpeg_timeout() -> int:
    return _limit("MEDIA_FFMPEG_TIMEOUT", 900)


def ffmpeg_binary() -> str:
    return _limit("FFMPEG_BINARY", "ffmpeg")


def ffprobe_binary() -> str:
    return _limit("FFPROBE_BINARY", "ffprobe")
