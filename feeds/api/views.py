"""GET /api/v1/feed: the caller's home feed."""

from urllib.parse import urlencode

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from feeds import selectors
from posts.api.serializers import PostOutput
from socialsite import params as query_params
from socialsite.api.helpers import error_responses

DEFAULT_LIMIT = 20


class FeedView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("limit", int, description="Page size, 20 by default, at most 50."),
            OpenApiParameter("cursor", str, description="The `next` cursor of the previous page."),
            OpenApiParameter(
                "since", str, description="A cursor or a post id: only posts newer than it (the `previous` link)."
            ),
            OpenApiParameter("order", str, enum=list(selectors.ORDERS), description="latest (default) or top."),
        ],
        responses={
            200: inline_serializer(
                "FeedPage",
                {
                    "results": PostOutput(many=True),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(
                        allow_null=True, help_text="Polls for newer posts: this URL returns only those (latest order)."
                    ),
                },
            ),
            **error_responses(400, 401),
        },
        tags=["feed"],
        description="Posts of the accounts you follow, and your own posts and shares, newest first.",
    )
    def get(self, request):
        params = request.query_params
        limit = query_params.limit(params, DEFAULT_LIMIT, settings.API_PAGE_SIZE_MAX)
        order = params.get("order", "latest")  # "order=" is no order: 400
        page = selectors.home_feed(
            viewer=request.user,
            limit=limit,
            cursor=params.get("cursor"),
            since=params.get("since"),
            order=order,
        )
        base = request.build_absolute_uri(request.path)

        def link(**query):
            return f"{base}?{urlencode({'limit': limit, 'order': order, **query})}"

        return Response(
            {
                "results": selectors.page_payloads(page, viewer=request.user, request=request),
                "next": link(cursor=page.next_cursor) if page.next_cursor else None,
                "previous": link(since=page.newest_cursor) if page.newest_cursor else None,
            }
        )
