import functools
import uuid

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

from media import signed_urls

register = template.Library()

_PK_MARK = uuid.UUID(int=0)


@functools.cache
def _post_url_pattern(name, prefix, urlconf, *leading):
    return reverse(name, args=[*leading, _PK_MARK], urlconf=urlconf)


def post_url_pattern(name, *leading):
    """The URL of route `name` for a post, with POST_PK_MARK in place of the post id: a page
    making many replaces the mark (posts.cards)."""
    return _post_url_pattern(name, get_script_prefix(), get_urlconf(), *leading)


POST_PK_MARK = str(_PK_MARK)


@register.filter
def post_url(pk, name):
    """`{% url name pk %}` for a route taking one post id, reversed once per process: a feed page
    asks for about five per card, and reverse() was a fifth of its rendering."""
    return _post_url_pattern(name, get_script_prefix(), get_urlconf()).replace(str(_PK_MARK), str(pk))


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


@register.filter
def full_image(media):
    """The full-size image (the original variant), else the best one there is: where a photo links."""
    return variant_url(media, "original") or best_image(media)


@register.filter
def like_action(pk, liked):
    """Where the like button posts: unlike when the viewer likes the post already."""
    return post_url(pk, "post_unlike" if liked else "post_like")


@register.filter
def bookmark_action(pk, bookmarked):
    """Where the bookmark button posts: unbookmark when the viewer has bookmarked the post."""
    return post_url(pk, "post_unbookmark" if bookmarked else "post_bookmark")


@register.filter
def report_post_url(pk):
    return _post_url_pattern("report", get_script_prefix(), get_urlconf(), "post").replace(str(_PK_MARK), str(pk))
