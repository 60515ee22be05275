"""Images: decoded fully, upright, sRGB and without metadata; filtered and re-encoded (JPEG, or
WebP when there is real transparency) in three sizes with a blurhash, plus the unfiltered "source"
copy a later filter change starts from (never shown in the API)."""

import io
import warnings
from dataclasses import dataclass

import blurhash as blurhash_lib
from PIL import Image, ImageCms, ImageOps

from media import storage
from media.errors import MediaProcessingError
from media.filters import apply_filter
from media.limits import image_max_pixels

ACCEPTED_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
IMAGE_VARIANTS = (("original", 2048), ("medium", 1080), ("thumbnail", 320))
THUMBNAIL_SIZE = 320


@dataclass
class Processed:
    """What a processing run made: the variants (stored already) and what the row records of them."""

    variants: dict
    width: int
    height: int
    blurhash: str
    duration: float | None = None
    filter: str = ""  # the filter the variants were made with


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


def fit(image, long_side):
    """The image scaled down (never up) to fit `long_side`."""
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


def store_image(media, name, image, written):
    """Encode and store one variant of a media item; its variant entry."""
    data, extension, content_type = encode_image(image)
    path = storage.store(f"{storage.prefix(media)}/{name}.{extension}", io.BytesIO(data), written)
    return {"path": path, "width": image.width, "height": image.height, "content_type": content_type}


def process_image(media, source, written):
    """The variants of a new image upload (at `source`, a local path), filtered with its filter."""
    with open(source, "rb") as handle:
        image = fit(decode_image(handle), IMAGE_VARIANTS[0][1])
    # The unfiltered, metadata-free source a later filter change starts from (not in the API).
    source_variant = store_image(media, "source", image, written)
    result = image_variants(media, image, media.filter, written)
    result.variants["source"] = source_variant
    return result


def image_variants(media, image, filter, written, stamp=""):
    """The filtered original, medium and thumbnail of an unfiltered `image`, and its blurhash."""
    image = apply_filter(image, filter)
    variants = {}
    current = image
    for name, long_side in IMAGE_VARIANTS:  # largest first; each size is made from the previous one
        current = fit(current, long_side)
        variants[name] = store_image(media, f"{name}-{stamp}" if stamp else name, current, written)
    original = variants["original"]
    return Processed(variants, original["width"], original["height"], compute_blurhash(current), filter=filter)
