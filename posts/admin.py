"""Moderators' view of posts, comments and media. Moderation actions arrive with reports."""

from django.contrib import admin
from django.db import models

from posts.models import Comment, Hashtag, Media, Post


class MediaInline(admin.TabularInline):
    model = Media
    fields = ("position", "kind", "status", "error", "alt_text", "filter", "blurhash")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "author",
        "content_type",
        "visibility",
        "status",
        "likes_count",
        "comments_count",
        "created_at",
    )
    list_filter = ("content_type", "visibility", "status", "created_at")
    search_fields = ("content", "author__username")
    list_select_related = ("author",)
    raw_id_fields = ("author", "shared_post")
    readonly_fields = ("content_html", "likes_count", "comments_count", "shares_count", "created_at", "updated_at")
    date_hierarchy = "created_at"
    inlines = [MediaInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "author", "post", "parent", "created_at", "deleted_at")
    search_fields = ("content", "author__username")
    list_select_related = ("author", "post")
    raw_id_fields = ("author", "post", "parent")
    readonly_fields = ("content_html", "replies_count", "created_at", "updated_at")


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "kind", "status", "error", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("owner__username", "alt_text")
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "post")
    readonly_fields = ("variants", "blurhash", "width", "height", "duration", "attempts", "processed_at")


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
