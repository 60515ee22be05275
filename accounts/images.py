"""Avatar decoding: verify by decoding, guard against bombs, strip metadata, resize; the full
square (AVATAR_SIZE) and the small one lists and cards show (AVATAR_SMALL_SIZE)."""

import io
import warnings
from typing import NamedTuple

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from socialsite.errors import ServiceError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


class AvatarFiles(NamedTuple):
    full: ContentFile  # AVATAR_SIZE square: the profile page, the API's avatar_url
    small: ContentFile  # AVATAR_SMALL_SIZE square: the 40px avatars of lists and cards, at 2x


def _webp(image, name):
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=85)  # a fresh encode carries no EXIF/GPS
    return ContentFile(out.getvalue(), name=name)


def avatar_from_upload(upload):
    """The square WebP avatars (AvatarFiles) made by decoding `upload`, or raise ServiceError."""
    if upload.size > settings.AVATAR_MAX_UPLOAD_BYTES:
        limit_mb = settings.AVATAR_MAX_UPLOAD_BYTES // (1024 * 1024)
        raise ServiceError(
            f"The image is larger than {limit_mb} MB.", code="file_too_large", fields={"avatar": ["Too large."]}
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            image = Image.open(upload)
            if image.format not in ACCEPTED_FORMATS:
                raise ServiceError(
                    "Use a JPEG, PNG, WebP or GIF image.",
                    code="unsupported_image",
                    fields={"avatar": ["Unsupported format."]},
                )
            width, height = image.size
            if width * height > settings.AVATAR_MAX_PIXELS:
                raise ServiceError(
                    "The image has too many pixels.", code="image_too_large", fields={"avatar": ["Too many pixels."]}
                )
            image.load()  # the real decode: truncated or corrupt files fail here
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            size = settings.AVATAR_SIZE
            image = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    except ServiceError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        SyntaxError,
    ):
        raise ServiceError(
            "That file is not an image we can read.", code="invalid_image", fields={"avatar": ["Not a valid image."]}
        )
    small = settings.AVATAR_SMALL_SIZE
    return AvatarFiles(
        full=_webp(image, "avatar.webp"),
        small=_webp(image.resize((small, small), Image.Resampling.LANCZOS), "avatar-small.webp"),
    )
