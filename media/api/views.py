"""POST /api/v1/media and GET/DELETE /api/v1/media/{id}: uploads processed by the media worker."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from media import selectors, services
from media.api.serializers import MediaDetailOutput, MediaUploadInput, media_body
from media.models import Media
from socialsite.api.helpers import error_responses
from socialsite.api.idempotency import idempotent


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
        media = services.media_create(
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
        media = selectors.media_get_owned(user=request.user, media_id=media_id)
        return Response(media_body(media, request))

    @extend_schema(
        responses={204: None, **error_responses(401, 404, 409)},
        tags=["media"],
        description="Deletes one of your uploads that no post uses yet, with its files. 409"
        " `media_in_post` once a post has it (edit or delete the post instead). Uploads no post takes"
        " within 24 hours are deleted anyway.",
    )
    def delete(self, request, media_id):
        services.media_delete(user=request.user, media_id=media_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
