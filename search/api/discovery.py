"""GET /api/v1/trends, GET /api/v1/users/{user_id}/suggestions and GET /api/v1/explore/posts: thin
views over search.trends, search.suggestions and posts.selectors.popular_posts_queryset."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import UserSummaryOutput
from posts.api.serializers import PostOutput
from posts.selectors import popular_posts_queryset
from search import suggestions, trends
from socialsite import params
from socialsite.api.helpers import error_responses, own_user
from socialsite.api.pagination import CursorPagination

LIMIT_MAX = 50


class TrendOutput(serializers.Serializer):
    name = serializers.CharField(help_text="The hashtag, normalized, without #.")
    url = serializers.URLField(help_text="The hashtag's web page.")
    posts_last_hour = serializers.IntegerField()
    authors_last_hour = serializers.IntegerField()
    score = serializers.FloatField(help_text="How far above its usual rate; higher trends more.")


class TrendsOutput(serializers.Serializer):
    results = TrendOutput(many=True)


class SuggestionOutput(serializers.Serializer):
    user = UserSummaryOutput()
    reason = serializers.ChoiceField(choices=[suggestions.FRIENDS_OF_FRIENDS, suggestions.SHARED_INTERESTS])
    mutual_count = serializers.IntegerField(help_text="People you follow who follow this account.")
    mutuals = serializers.ListField(child=serializers.CharField(), help_text="Up to 3 of their usernames.")


class SuggestionsOutput(serializers.Serializer):
    results = SuggestionOutput(many=True)


class TrendsView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description="How many, 10 by default, at most 50.")],
        responses={200: TrendsOutput, **error_responses(400)},
        tags=["search"],
        description="Hashtags used by several people much faster in the last hour than in the days before, "
        "highest score first. Only public posts count. Recomputed every few minutes.",
    )
    def get(self, request):
        params.reject_unknown(request.query_params, {"limit"})
        limit = params.limit(request.query_params, 10, LIMIT_MAX)
        results = [
            {
                "name": trend.hashtag.name,
                "url": request.build_absolute_uri(reverse("hashtag", args=[trend.hashtag.name])),
                "posts_last_hour": trend.recent_posts,
                "authors_last_hour": trend.recent_authors,
                "score": trend.score,
            }
            for trend in trends.trending(limit)
        ]
        return Response(TrendsOutput({"results": results}).data)


class SuggestionsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description="How many, 20 by default, at most 50.")],
        responses={200: SuggestionsOutput, **error_responses(400, 401, 403)},
        tags=["search"],
        description="Accounts you might follow (your own list only): first those followed by people you follow, "
        "with how many of them and up to 3 usernames, then accounts popular among your interests. Never "
        "accounts you follow, asked to follow, blocked, muted or that blocked you.",
    )
    def get(self, request, user_id):
        user = own_user(request, user_id)
        params.reject_unknown(request.query_params, {"limit"})
        limit = params.limit(request.query_params, 20, LIMIT_MAX)
        results = suggestions.suggestions_for(user, limit)
        return Response(SuggestionsOutput({"results": results}, context={"request": request}).data)


class ExplorePagination(CursorPagination):
    # By engagement, then newest: a cursor holds the last engagement seen (and an offset among
    # equal ones), so a post whose counters change between pages may show twice or not at all.
    ordering = ("-engagement", "-published_at", "-id")  # type: ignore[assignment]  # DRF takes a tuple too


class ExplorePostsView(APIView):
    permission_classes = [permissions.AllowAny]
    pagination_class = ExplorePagination

    @extend_schema(
        responses={200: PostOutput(many=True), **error_responses(400)},
        tags=["search"],
        description="Trending posts: the most engaged public posts (likes + 2 × comments + 3 × shares) published "
        "in the last few days (EXPLORE_POSTS_DAYS, 3 by default) that you may see, then newest first. Signed out: "
        "public posts only. Never reposts, your own posts or those of accounts you blocked, muted or that "
        "blocked you.",
    )
    def get(self, request):
        params.reject_unknown(request.query_params, {"cursor", "limit"})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(popular_posts_queryset(viewer=request.user), request, view=self)
        data = PostOutput(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)
