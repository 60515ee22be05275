from django import template

from media import signed_urls

register = template.Library()

IMAGE_SIZES = ("thumbnail", "medium", "original")


def _variant(media, name):
    variant = (media.variants or {}).get(name)
    return variant if isinstance(variant, dict) and variant.get("path") else None


@register.filter
def variant_url(media, name):
    """The (signed) URL of one of a media item's variants, or ""."""
    variant = _variant(media, name)
    return signed_urls.url(variant["path"]) if variant else ""


@register.filter
def srcset(media):
    """`url 320w, url 1080w, ...` from the image variants that know their width."""
    parts = []
    for name in IMAGE_SIZES:
        variant = _variant(media, name)
        if variant and variant.get("width"):
            parts.append(f"{signed_urls.url(variant['path'])} {variant['width']}w")
    return ", ".join(parts)


@register.filter
def best_image(media):
    """The medium image, else the original, else the thumbnail."""
    for name in ("medium", "original", "thumbnail"):
        url = variant_url(media, name)
        if url:
            return url
    return ""
