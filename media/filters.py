"""The named photo filters: Pillow tone curves for images, the same looks as ffmpeg filter chains
for videos (and their posters), so a video looks like the photos."""

from PIL import ImageEnhance, ImageOps

from socialsite.errors import ServiceError

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


def _lut(red, green, blue):
    return f"lutrgb=r='{red}':g='{green}':b='{blue}'"


VIDEO_FILTERS = {
    "grayscale": "hue=s=0",
    "sepia": "colorchannelmixer=" + ":".join(str(value) for value in SEPIA_MATRIX),  # rr:rg:rb:ra:gr:...
    "vivid": "eq=saturation=1.4:contrast=1.12",
    "cool": _lut("val*0.88", "val*0.97+4", "val*0.92+30"),
    "warm": _lut("val*0.92+30", "val*0.97+6", "val*0.85"),
    "fade": "eq=saturation=0.8," + _lut("40+val*0.78", "40+val*0.78", "40+val*0.78"),
}


def validate_filter(name):
    name = (name or "").strip()
    if name and name not in IMAGE_FILTERS:
        raise ServiceError(
            "Unknown filter.",
            code="invalid_filter",
            fields={"filter": [f"Use one of: {', '.join(IMAGE_FILTERS)}."]},
        )
    return name
