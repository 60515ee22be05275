"""Moderators' view of uploads (the moderators group views them: posts migration 0002)."""

from django.contrib import admin

from media.models import Media


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "kind", "status", "error", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("owner__username", "alt_text")
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "post")
    readonly_fields = ("variants", "blurhash", "width", "height", "duration", "attempts", "processed_at")
