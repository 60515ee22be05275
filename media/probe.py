"""ffprobe, and reading what it says about a video: its picture stream, duration, shown size, rate."""

import json
import logging
import subprocess

from media.limits import FFPROBE_TIMEOUT_SECONDS, ffprobe_binary

logger = logging.getLogger(__name__)

# Demuxers ffprobe/ffmpeg may use on an upload. Playlists (hls, concat) and image demuxers are
# left out: they can reach other files or are not videos.
VIDEO_DEMUXERS = ("mov", "matroska", "webm", "avi", "mpegts", "flv", "ogg", "mpeg")


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


def video_stream(probe):
    for stream in probe.get("streams", []):
        if stream.get("codec_type") == "video" and not stream.get("disposition", {}).get("attached_pic"):
            return stream
    return None


def duration(probe, stream=None):
    for source in (probe.get("format", {}), stream or {}):
        try:
            value = float(source.get("duration"))
        except (TypeError, ValueError):
            continue
        if value > 0:
            return value
    return None


def display_size(stream):
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


def frame_rate(stream):
    try:
        numerator, denominator = (int(part) for part in stream.get("avg_frame_rate", "0/1").split("/"))
        return numerator / denominator if denominator else 0
    except ValueError:
        return 0
