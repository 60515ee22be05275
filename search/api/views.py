"""Thin API entry points for search and autocomplete."""

import base64
import binascii
import json

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from posts.api.serializers import PostOutput
from search import query, selectors
from search.api import serializers as s
from socialsite import params
from socialsite.api.helpers import error_responses
from socialsite.api.throttling import FixedWindowThrottle
from socialsite.errors import ServiceError


class SearchThrottle(FixedWindowThrottle):
    """THROTTLE_SEARCH per signed-in user, or per IP for anonymous callers."""

    scope = "search"

    def get_cache_key(self, request, view):
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _encode(offset):
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _offset(params):
    """Relevance pages go by position, so a cursor is an opaque offset, at most SEARCH_MAX_RESULTS deep."""
    raw = params.get("cursor")
    if not raw:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["o"]
        if not isinstance(offset, int) or not 0 <= offset < settings.SEARCH_MAX_RESULTS:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ServiceError(
            "Malformed cursor.", code="invalid", fields={"cursor": ["Use a next or previous link as given."]}
        )
    return offset


def _link(request, offset):
    url = request.build_absolute_uri()
    return remove_query_param(url, "cursor") if offset == 0 else replace_query_param(url, "cursor", _encode(offset))


OUTPUTS = {"post": PostOutput, "user": s.SearchUserOutput, "hashtag": s.HashtagOutput}


class SearchView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [SearchThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("query", str, required=True, description=f"1 to {settings.SEARCH_QUERY_MAX} characters."),
            OpenApiParameter("type", str, enum=query.TYPES, description="post (default), user or hashtag."),
            OpenApiParameter("author", str, description="type=post: a username or user id."),
            OpenApiParameter("since", str, description="type=post: published at or after (ISO date or date-time)."),
            OpenApiParameter("until", str, description="type=post: published at or before (a date covers the day)."),
            OpenApiParameter("has_media", bool, description="type=post: with (true) or without (false) media."),
            OpenApiParameter("content_type", str, description="type=post: text, image, video or link."),
            OpenApiParameter("followed_by_me", bool, description="type=user: only people you follow (or don't)."),
            OpenApiParameter("cursor", str, description="The `next` or `previous` link's cursor."),
            OpenApiParameter("limit", int, description="Page size, 20 by default, at most 50."),
        ],
        responses={200: s.SearchPageOutput, **error_responses(400, 429)},
        tags=["search"],
        description="Posts, people or hashtags, best match first (recency breaks ties), only what you may see. "
        'Posts match every word in any form ("jumping" finds "jumps"), "quoted phrases" in order, and '
        "not -excluded words; people and hashtags also match prefixes and tolerate typos.",
    )
    def get(self, request):
        search = query.parse(request.query_params, request.user)
        limit = params.limit(request.query_params, settings.REST_FRAMEWORK["PAGE_SIZE"], settings.API_PAGE_SIZE_MAX)
        offset = _offset(request.query_params)
        limit = min(limit, settings.SEARCH_MAX_RESULTS - offset)
        rows, more = selectors.search(request.user, search, offset=offset, limit=limit)
        more = more and offset + limit < settings.SEARCH_MAX_RESULTS
        results = OUTPUTS[search.type](rows, many=True, context={"request": request}).data
        return Response(
            {
                "results": results,
                "next": _link(request, offset + limit) if more else None,
                "previous": _link(request, max(offset - limit, 0)) if offset else None,
            }
        )


class AutocompleteView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [SearchThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("query", str, required=True, description="What was typed after @ or #, or with it."),
            OpenApiParameter(
                "type", str, enum=["user", "hashtag"], description="hashtag when the text starts with #, else user."
            ),
            OpenApiParameter("limit", int, description="At most this many, 8 by default, at most 20."),
        ],
        responses={200: s.AutocompleteOutput, **error_responses(400, 429)},
        tags=["search"],
        description="For the compose box: people whose username, display name or a later word of it starts "
        "with the text (those you follow first), or hashtags that start with it (trending first).",
    )
    def get(self, request):
        given = request.query_params
        params.reject_unknown(given, {"query", "type", "limit"})
        text = query.clean_text(given.get("query", ""))
        kind = given.get("type", "hashtag" if text.startswith("#") else "user")
        if kind not in ("user", "hashtag"):
            raise ServiceError("Unknown autocomplete type.", code="invalid", fields={"type": ["user or hashtag."]})
        rows = selectors.complete(request.user, kind, text, params.limit(given, 8, 20))
        output = s.SearchUserOutput if kind == "user" else s.HashtagOutput
        return Response({"results": output(rows, many=True, context={"request": request}).data})
