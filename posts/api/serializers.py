"""One input and one output serializer per call. Ids are strings."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import UserSummaryOutput
from media import signed_urls
from media.models import Media
from posts import text
from posts.models import Post
from posts.services import FILTERS
from socialsite.api.inputs import Input

# --- Posts -----------------------------------------------------------------------------------------


class PostCreateInput(Input):
    content_type = serializers.ChoiceField(
        choices=Post.ContentType.choices,
        required=False,
        help_text="Without it: `text`, or `image` / `video` when `media_ids` are given.",
    )
    content = serializers.CharField(max_length=text.POST_MAX_CHARS, allow_blank=True, default="", trim_whitespace=False)
    media_ids = serializers.ListField(child=serializers.UUIDField(), max_length=10, default=list)
    visibility = serializers.ChoiceField(choices=Post.Visibility.choices, default=Post.Visibility.PUBLIC)
    filter = serializers.ChoiceField(choices=["", *FILTERS], default="", help_text="Applied to the post's images.")
    tagged_user_ids = serializers.ListField(child=serializers.UUIDField(), max_length=20, default=list)
    spoiler_text = serializers.CharField(
        max_length=text.SPOILER_MAX_CHARS,
        allow_blank=True,
        default="",
        help_text="A content warning: plain text shown instead of the content and media until opened.",
    )


class PostUpdateInput(Input):
    content = serializers.CharField(max_length=text.POST_MAX_CHARS, allow_blank=True, trim_whitespace=False)
    visibility = serializers.ChoiceField(choices=Post.Visibility.choices, default=Post.Visibility.PUBLIC)
    spoiler_text = serializers.CharField(
        max_length=text.SPOILER_MAX_CHARS,
        allow_blank=True,
        required=False,
        help_text="The content warning; omitted, it stays as it was; empty removes it.",
    )


class MediaOutput(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=Media.Kind.choices)
    status = serializers.CharField(help_text="processing | ready | failed")
    error = serializers.CharField(help_text="Why processing failed, for the author; empty otherwise.")
    alt_text = serializers.CharField()
    description = serializers.CharField(
        source="alt_text", help_text="The alt text again, by Mastodon's name; empty when the author gave none."
    )
    blurhash = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    variants = serializers.SerializerMethodField(help_text="Variant name → absolute URL (original, medium, ...).")

    def get_variants(self, media) -> dict[str, str]:
        request = self.context.get("request")
        urls = {}
        for name, variant in (media.variants or {}).items():
            if name == "source":  # the unfiltered copy kept for re-filtering, never shown
                continue
            if isinstance(variant, dict) and variant.get("path"):
                urls[name] = signed_urls.url(variant["path"], request)
        return urls


class TaggedUserOutput(UserSummaryOutput):
    kind = serializers.CharField()


def _tagged(post, context):
    rows = []
    for tag in post.tags.all():
        data = dict(UserSummaryOutput(tag.user, context=context).data)
        data["kind"] = tag.kind
        rows.append(data)
    return rows


def _media_urls(post, request):
    urls = []
    for media in post.media.all():
        # The full-size file: "original" for an image, "video" (the MP4) for a video.
        variants = media.variants or {}
        original = variants.get("video" if media.kind == Media.Kind.VIDEO else "original")
        if media.status == Media.Status.READY and isinstance(original, dict) and original.get("path"):
            urls.append(signed_urls.url(original["path"], request))
    return urls


class LinkPreviewOutput(serializers.Serializer):
    url = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    site_name = serializers.CharField()
    image = serializers.CharField(help_text="An http(s) image URL from the page, or empty.")


class SharedPostOutput(serializers.Serializer):
    """The post a share points at, without its own shared post."""

    id = serializers.CharField()
    author = UserSummaryOutput()
    content = serializers.CharField()
    content_html = serializers.CharField()
    spoiler_text = serializers.CharField(help_text="The content warning (plain text); empty for none.")
    content_type = serializers.ChoiceField(choices=Post.ContentType.choices)
    visibility = serializers.ChoiceField(choices=Post.Visibility.choices)
    pinned = serializers.SerializerMethodField(help_text="Pinned by its author to the top of their profile.")
    media_urls = serializers.SerializerMethodField()
    media = MediaOutput(many=True, source="media.all")
    hashtags = serializers.SerializerMethodField()
    tagged_users = serializers.SerializerMethodField()
    link_url = serializers.CharField()
    link_preview = serializers.SerializerMethodField()
    likes_count = serializers.IntegerField()
    comments_count = serializers.IntegerField()
    shares_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    edited = serializers.BooleanField()

    def get_pinned(self, post) -> bool:
        return post.pinned_at is not None

    def get_media_urls(self, post) -> list[str]:
        return _media_urls(post, self.context.get("request"))

    @extend_schema_field(LinkPreviewOutput(allow_null=True))
    def get_link_preview(self, post):
        """The fetched card; null until fetched, and when the fetch failed."""
        preview = post.link_preview or {}
        if not preview.get("title") and not preview.get("description"):
            return None
        return {key: preview.get(key) or "" for key in ("url", "title", "description", "site_name", "image")}

    def get_hashtags(self, post) -> list[str]:
        return sorted(tag.name for tag in post.hashtags.all())

    @extend_schema_field(TaggedUserOutput(many=True))
    def get_tagged_users(self, post):
        return _tagged(post, self.context)


class PostOutput(SharedPostOutput):
    status = serializers.CharField(
        help_text="published | pending_media (waiting for media; only the author sees it) | failed"
    )
    liked_by_me = serializers.BooleanField(default=False)
    bookmarked = serializers.BooleanField(default=False, help_text="You bookmarked it (only you see this).")
    shared_post = SharedPostOutput(allow_null=True, help_text="The reposted or quoted post; null if gone or hidden.")


# --- Likes -----------------------------------------------------------------------------------------


class LikeOutput(serializers.Serializer):
    post_id = serializers.CharField()
    user_id = serializers.CharField()
    likes_count = serializers.IntegerField()
    liked_by_me = serializers.BooleanField()


# --- Bookmarks and pins ---------------------------------------------------------------------------


class BookmarkOutput(serializers.Serializer):
    post_id = serializers.CharField()
    bookmarked = serializers.BooleanField()


class PinOutput(serializers.Serializer):
    post_id = serializers.CharField()
    pinned = serializers.BooleanField()


# --- Comments -------------------------------------------------------------------------------------


class CommentCreateInput(Input):
    content = serializers.CharField(max_length=text.COMMENT_MAX_CHARS, trim_whitespace=False)
    parent_comment_id = serializers.UUIDField(required=False, allow_null=True)


class CommentUpdateInput(Input):
    content = serializers.CharField(max_length=text.COMMENT_MAX_CHARS, trim_whitespace=False)


class CommentOutput(serializers.Serializer):
    id = serializers.CharField()
    post_id = serializers.CharField()
    parent_comment_id = serializers.CharField(source="parent_id", allow_null=True)
    author = UserSummaryOutput()
    content = serializers.CharField()
    content_html = serializers.CharField()
    replies_count = serializers.IntegerField()
    edited = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# --- Shares ----------------------------------------------------------------------------------------


class ShareInput(Input):
    content = serializers.CharField(
        max_length=text.POST_MAX_CHARS,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="Empty for a repost, text for a quote.",
    )
