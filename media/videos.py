"""Videos: transcoded by ffmpeg to H.264/AAC MP4 with faststart and no metadata, scaled to fit
1080p, with the named filter as an ffmpeg filter chain, plus a poster frame and a thumbnail."""

import logging
import os
import subprocess

from media import storage
from media.errors import MediaProcessingError
from media.filters import VIDEO_FILTERS
from media.images import THUMBNAIL_SIZE, Processed, compute_blurhash, decode_image, fit, store_image
from media.limits import (
    POSTER_TIMEOUT_SECONDS,
    VIDEO_MAX_FPS,
    ffmpeg_binary,
    ffmpeg_timeout,
    video_max_height,
    video_max_seconds,
)
from media.probe import VIDEO_DEMUXERS, display_size, duration, ffprobe, frame_rate, video_stream

logger = logging.getLogger(__name__)


def fit_video(width, height, short_side=None):
    """The output size: within short_side on the short edge (16:9 of it on the long), even numbers."""
    short_side = short_side or video_max_height()
    long_side = short_side * 16 // 9
    scale = min(1.0, long_side / max(width, height), short_side / min(width, height))
    even = lambda value: max(2, int(value * scale) // 2 * 2)  # noqa: E731
    return even(width), even(height)


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


def process_video(media, source, workdir, written):
    """The variants of a video upload (at `source`, a local path): the video, a poster, a thumbnail."""
    probe = ffprobe(source)
    stream = video_stream(probe) if probe else None
    if stream is None:
        raise MediaProcessingError("This video could not be read. It may be damaged or have no picture.")
    width, height = fit_video(*display_size(stream))
    filters = [f"scale={width}:{height}:flags=lanczos", "setsar=1"]
    if frame_rate(stream) > VIDEO_MAX_FPS:
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
    out_stream = video_stream(result) if result else None
    if out_stream is None:
        raise MediaProcessingError("This video could not be converted.")
    seconds = duration(result, out_stream) or 0.0
    poster_path = os.path.join(workdir, "poster.jpg")
    _run(
        [
            ffmpeg_binary(),
            *("-nostdin", "-hide_banner", "-v", "error", "-y"),
            *("-ss", "1" if seconds > 1.5 else "0", "-i", f"file:{output}"),
            *("-frames:v", "1", "-q:v", "2", "-update", "1", f"file:{poster_path}"),
        ],
        POSTER_TIMEOUT_SECONDS,
        "No poster frame could be taken from this video.",
    )
    with open(poster_path, "rb") as handle:
        poster = decode_image(handle)
    with open(output, "rb") as handle:
        video_path = storage.store(f"{storage.prefix(media)}/video.mp4", handle, written)
    variants = {
        "video": {
            "path": video_path,
            "width": int(out_stream["width"]),
            "height": int(out_stream["height"]),
            "content_type": "video/mp4",
            "duration": round(seconds, 3),
        },
        "poster": store_image(media, "poster", poster, written),
        "thumbnail": store_image(media, "thumbnail", fit(poster, THUMBNAIL_SIZE), written),
    }
    return Processed(
        variants,
        variants["video"]["width"],
        variants["video"]["height"],
        compute_blurhash(poster),
        duration=round(seconds, 3),
    )
