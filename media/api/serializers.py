"""The media API's inputs and outputs."""

from rest_framework import serializers

from media import signed_urls
from media.filters import IMAGE_FILTERS
from socialsite.api.inputs import Input


class MediaUploadInput(Input):
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    alt_text = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    filter = serializers.ChoiceField(choices=list(IMAGE_FILTERS), required=False, allow_blank=True, default="")


class MediaVariantOutput(serializers.Serializer):
    url = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    content_type = serializers.CharField(allow_null=True)


class MediaDetailOutput(serializers.Serializer):
    id = serializers.CharField()
    # Plain strings in the schema: enum names would collide with Post.status (see ENUM_NAME_OVERRIDES).
    kind = serializers.CharField(help_text="image | video")
    status = serializers.CharField(help_text="processing | ready | failed")
    error = serializers.CharField(allow_blank=True)
    alt_text = serializers.CharField(allow_blank=True)
    filter = serializers.CharField(allow_blank=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration = serializers.FloatField(allow_null=True, help_text="Seconds, for videos.")
    blurhash = serializers.CharField(allow_blank=True)
    variants = serializers.DictField(
        child=MediaVariantOutput(), help_text="original/medium/thumbnail for images; video/poster/thumbnail for videos."
    )
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)


def media_body(media, request):
    variants = {
        name: {
            "url": signed_urls.url(variant["path"], request),
            "width": variant.get("width"),
            "height": variant.get("height"),
            "content_type": variant.get("content_type"),
        }
        for name, variant in (media.variants or {}).items()
        if name != "source"  # the unfiltered copy kept for re-filtering, never shown
    }
    return MediaDetailOutput(
        {
            "id": str(media.id),
            "kind": media.kind,
            "status": media.status,
            "error": media.error,
            "alt_text": media.alt_text,
            "filter": media.filter,
            "width": media.width,
            "height": media.height,
            "duration": media.duration,
            "blurhash": media.blurhash,
            "variants": variants,
            "attempts": media.attempts,
            "created_at": media.created_at,
            "processed_at": media.processed_at,
        }
    ).data
