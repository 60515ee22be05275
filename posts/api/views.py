"""Thin API entry points for posts, likes, comments, shares and hashtags."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.helpers import user_from_path
from posts import payloads, selectors, services
from posts.api import serializers as s
from socialsite.api.helpers import error_responses, own_user, valid_input
from socialsite.api.idempotency import idempotent
from socialsite.api.pagination import CursorPagination


class OldestFirstPagination(CursorPagination):
    ordering = "created_at"


class ReadOpenView(APIView):
    """Anyone may read; writing needs a signed-in caller."""

    def get_permissions(self):
        if self.request.method == "GET":
            return [permissions.AllowAny()]
        return super().get_permissions()


class PostListView(APIView):
    """A cursor-paginated list of posts."""

    permission_classes = [permissions.AllowAny]
    pagination_class = CursorPagination
    output = s.PostOutput

    def paginate(self, request, queryset):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = self.output(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


def post_payload(request, post_id):
    post = selectors.post_get(viewer=request.user, post_id=post_id)
    return s.PostOutput(post, context={"request": request}).data


# --- Posts -----------------------------------------------------------------------------------------


class PostsView(APIView):
    @extend_schema(
        request=s.PostCreateInput,
        responses={201: s.PostOutput, **error_responses(400, 401, 403, 404, 409, 422)},
        tags=["posts"],
        description="Publish a post. With media still processing, the post stays `pending_media` "
        "(seen only by its author) until every item is ready.",
    )
    @idempotent
    def post(self, request):
        data = valid_input(s.PostCreateInput, request)
        post = services.post_create(author=request.user, **data)
        # The post comes back with what was written (posts.selectors.prefill): nothing to re-read.
        return Response(s.PostOutput(post, context={"request": request}).data, status=status.HTTP_201_CREATED)


class PostDetailView(ReadOpenView):
    @extend_schema(responses={200: s.PostOutput, **error_responses(404)}, tags=["posts"])
    def get(self, request, post_id):
        return Response(payloads.detail(viewer=request.user, post_id=post_id, request=request))

    @extend_schema(
        request=s.PostUpdateInput,
        responses={200: s.PostOutput, **error_responses(400, 401, 403, 404)},
        tags=["posts"],
        description="Replace the text and audience; omitted visibility becomes public.",
    )
    def put(self, request, post_id):
        return self._update(request, post_id, partial=False)

    @extend_schema(
        request=s.PostUpdateInput, responses={200: s.PostOutput, **error_responses(400, 401, 403, 404)}, tags=["posts"]
    )
    def patch(self, request, post_id):
        return self._update(request, post_id, partial=True)

    def _update(self, request, post_id, partial):
        post = selectors.post_get(viewer=request.user, post_id=post_id)
        data = valid_input(s.PostUpdateInput, request, partial=partial)
        services.post_update(post=post, editor=request.user, **data)
        return Response(post_payload(request, post.pk))

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)}, tags=["posts"])
    def delete(self, request, post_id):
        post = selectors.post_get(viewer=request.user, post_id=post_id)
        services.post_delete(post=post, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserPostsView(PostListView):
    @extend_schema(
        responses={200: s.PostOutput(many=True), **error_responses(403, 404)},
        tags=["posts"],
        description="The user's published posts that you may see, newest first. `me` names the caller. "
        "The first page (no cursor) starts with their pinned posts (`pinned: true`, last pinned first); "
        "the pages after it hold the others.",
    )
    def get(self, request, user_id):
        user = user_from_path(request, user_id)
        rest = selectors.user_posts_queryset(viewer=request.user, user=user, unpinned=True)
        response = self.paginate(request, rest)
        if not request.query_params.get(CursorPagination.cursor_query_param):
            pinned = selectors.profile_pinned(viewer=request.user, user=user)
            pinned_data = self.output(pinned, many=True, context={"request": request}).data
            response.data["results"] = [*pinned_data, *response.data["results"]]
        return response


class HashtagPostsView(PostListView):
    @extend_schema(
        responses={200: s.PostOutput(many=True)},
        tags=["posts"],
        description="Published posts with this hashtag (case-insensitive), newest first.",
    )
    def get(self, request, name):
        return self.paginate(request, selectors.hashtag_posts_queryset(viewer=request.user, name=name))


# --- Likes -----------------------------------------------------------------------------------------


def _like_body(request, post_id):
    post = selectors.post_get(viewer=request.user, post_id=selectors.acted_on(viewer=request.user, post_id=post_id).pk)
    body = {"post_id": str(post.pk), "user_id": str(request.user.pk)}
    return s.LikeOutput({**body, "likes_count": post.likes_count, "liked_by_me": post.liked_by_me}).data


class LikesView(APIView):
    @extend_schema(
        request=None,
        responses={201: s.LikeOutput, 200: s.LikeOutput, **error_responses(401, 404)},
        tags=["likes"],
        description="Like as the caller: 201 on a new like, 200 if it already existed.",
    )
    def post(self, request, post_id):
        _, created = services.like_create(user=request.user, post_id=post_id)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(_like_body(request, post_id), status=code)


class LikeDetailView(APIView):
    @extend_schema(
        responses={204: None, **error_responses(401, 403, 404)},
        tags=["likes"],
        description="Unlike. Idempotent; `user_id` must be the caller.",
    )
    def delete(self, request, post_id, user_id):
        user = own_user(request, user_id)
        services.like_delete(user=user, post_id=post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Bookmarks and pins ---------------------------------------------------------------------------


class BookmarkView(APIView):
    @extend_schema(
        request=None,
        responses={201: s.BookmarkOutput, 200: s.BookmarkOutput, **error_responses(401, 404)},
        tags=["bookmarks"],
        description="Bookmark a post you can see (a repost: its original). Private: nobody is told. "
        "201 on a new bookmark, 200 if it already existed.",
    )
    def post(self, request, post_id):
        bookmark, created = services.bookmark_add(user=request.user, post_id=post_id)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(s.BookmarkOutput({"post_id": str(bookmark.post_id), "bookmarked": True}).data, status=code)

    @extend_schema(
        responses={204: None, **error_responses(401, 404)},
        tags=["bookmarks"],
        description="Remove the bookmark. Idempotent; works for a bookmarked post you can no longer see.",
    )
    def delete(self, request, post_id):
        services.bookmark_remove(user=request.user, post_id=post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BookmarksView(PostListView):
    permission_classes = [permissions.IsAuthenticated]

    class pagination_class(CursorPagination):  # noqa: N801 -- DRF's attribute name
        ordering = "-bookmarked_at"  # ties (same microsecond) are kept apart by the cursor's offset

    @extend_schema(
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
        responses={200: s.PostOutput(many=True), **error_responses(401, 404)},
        tags=["bookmarks"],
        description="Your bookmarked posts that you may still see, last bookmarked first. "
        "A cursor this server didn't make is 404.",
    )
    def get(self, request):
        return self.paginate(request, selectors.bookmarks_queryset(user=request.user))


class PinView(APIView):
    @extend_schema(
        request=None,
        responses={201: s.PinOutput, 200: s.PinOutput, **error_responses(401, 403, 404, 409)},
        tags=["posts"],
        description="Pin one of your published posts to the top of your profile: at most 3 "
        "(409 `pin_limit_reached`). 201 when newly pinned, 200 if it already was.",
    )
    def post(self, request, post_id):
        created = services.post_pin(user=request.user, post_id=post_id)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        post = selectors.post_get_bare(viewer=request.user, post_id=post_id)
        return Response(s.PinOutput({"post_id": str(post.pk), "pinned": True}).data, status=code)

    @extend_schema(
        responses={204: None, **error_responses(401, 403, 404)},
        tags=["posts"],
        description="Unpin one of your posts. Idempotent.",
    )
    def delete(self, request, post_id):
        services.post_unpin(user=request.user, post_id=post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Comments -------------------------------------------------------------------------------------


class CommentsView(ReadOpenView):
    pagination_class = OldestFirstPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("parent_comment_id", str, description="List the replies to this comment."),
            OpenApiParameter("limit", int),
            OpenApiParameter("cursor", str),
        ],
        responses={200: s.CommentOutput(many=True), **error_responses(404)},
        tags=["comments"],
        description="Top-level comments, oldest first, or the direct replies to `parent_comment_id`.",
    )
    def get(self, request, post_id):
        post = selectors.acted_on(viewer=request.user, post_id=post_id)
        parent_id = request.query_params.get("parent_comment_id") or None
        rows = selectors.comments_queryset(viewer=request.user, post=post, parent_id=parent_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(s.CommentOutput(page, many=True, context={"request": request}).data)

    @extend_schema(
        request=s.CommentCreateInput,
        responses={201: s.CommentOutput, **error_responses(400, 401, 403, 404, 409, 422)},
        tags=["comments"],
    )
    @idempotent
    def post(self, request, post_id):
        data = valid_input(s.CommentCreateInput, request)
        comment = services.comment_create(
            author=request.user,
            post_id=post_id,
            content=data["content"],
            parent_comment_id=data.get("parent_comment_id"),
        )
        comment = selectors.comment_get(
            viewer=request.user, post=selectors.acted_on(viewer=request.user, post_id=post_id), comment_id=comment.pk
        )
        return Response(s.CommentOutput(comment, context={"request": request}).data, status=status.HTTP_201_CREATED)


class CommentDetailView(APIView):
    def _comment(self, request, post_id, comment_id):
        return selectors.comment_get(
            viewer=request.user, post=selectors.acted_on(viewer=request.user, post_id=post_id), comment_id=comment_id
        )

    @extend_schema(
        request=s.CommentUpdateInput,
        responses={200: s.CommentOutput, **error_responses(400, 401, 403, 404)},
        tags=["comments"],
        description="The comment's author edits it.",
    )
    def patch(self, request, post_id, comment_id):
        comment = self._comment(request, post_id, comment_id)
        data = valid_input(s.CommentUpdateInput, request, partial=True)
        services.comment_update(comment=comment, editor=request.user, content=data.get("content"))
        comment = self._comment(request, post_id, comment_id)
        return Response(s.CommentOutput(comment, context={"request": request}).data)

    @extend_schema(
        responses={204: None, **error_responses(401, 403, 404)},
        tags=["comments"],
        description="The comment's author or the post's author removes it.",
    )
    def delete(self, request, post_id, comment_id):
        services.comment_delete(comment=self._comment(request, post_id, comment_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Shares ----------------------------------------------------------------------------------------


class SharesView(APIView):
    @extend_schema(
        request=s.ShareInput,
        responses={201: s.PostOutput, 200: s.PostOutput, **error_responses(400, 401, 403, 404, 409, 422)},
        tags=["shares"],
        description="Repost (no content) or quote (with content) a public post. "
        "Reposting the same post again answers 200 with the existing repost.",
    )
    @idempotent
    def post(self, request, post_id):
        data = valid_input(s.ShareInput, request)
        share, created = services.share_create(user=request.user, post_id=post_id, content=data["content"])
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(post_payload(request, share.pk), status=code)
