"""POST /api/v1/media and GET /api/v1/media/{id}: uploads processed by the media worker."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from posts import media as media_code
from posts import media_urls
from posts.models import Media
from socialsite.api.helpers import error_responses
from socialsite.api.idempotency import idempotent
from socialsite.api.inputs import Input


class MediaUploadInput(Input):
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    alt_text = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    filter = serializers.ChoiceField(
        choices=list(media_code.IMAGE_FILTERS), required=False, allow_blank=True, default=""
    )


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
            "url": media_urls.url(variant["path"], request),
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


class MediaUploadView(APIView):
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": MediaUploadInput},
        responses={
            201: OpenApiResponse(MediaDetailOutput, description="Processed already (ready or failed)."),
            202: OpenApiResponse(MediaDetailOutput, description="Accepted; poll GET /media/{id} until it settles."),
            **error_responses(400, 401, 409, 413, 422),
        },
        tags=["media"],
    )
    @idempotent
    def post(self, request):
        """Upload a photo or a video (multipart `file`). It is checked by decoding it and processed by a worker; poll `GET /media/{id}` until it is ready or failed."""
        serializer = MediaUploadInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        media = media_code.media_create(
            owner=request.user, upload=data["file"], alt_text=data["alt_text"], filter=data["filter"]
        )
        media.refresh_from_db()  # without a worker, processing ran on commit
        settled = media.status != Media.Status.PROCESSING
        return Response(
            media_body(media, request), status=status.HTTP_201_CREATED if settled else status.HTTP_202_ACCEPTED
        )


class MediaDetailView(APIView):
    @extend_schema(responses={200: MediaDetailOutput, **error_responses(401, 404)}, tags=["media"])
    def get(self, request, media_id):
        """One of your uploads: its processing status and, once ready, its variants (signed URLs)."""
        media = media_code.media_get_owned(user=request.user, media_id=media_id)
        return Response(media_body(media, request))

    @extend_schema(
        responses={204: None, **error_responses(401, 404, 409)},
        tags=["media"],
        description="Deletes one of your uploads that no post uses yet, with its files. 409"
        " `media_in_post` once a post has it (edit or delete the post instead). Uploads no post takes"
        " within 24 hours are deleted anyway.",
    )
    def delete(self, request, media_id):
        media_code.media_delete(user=request.user, media_id=media_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
