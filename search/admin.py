"""Moderators' view of trending hashtags. The beat task writes the rows; moderators only hide
and show them (search.trends), which needs the hide_trend permission; both go into the moderation
audit log (posts ModerationAction hide_trend / show_trend)."""

from django.contrib import admin

from search import trends
from search.models import Trend


class HiddenFilter(admin.SimpleListFilter):
    title = "hidden"
    parameter_name = "hidden"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(hidden_at__isnull=self.value() == "no")
        return queryset


@admin.register(Trend)
class TrendAdmin(admin.ModelAdmin):
    list_display = ("name", "score", "recent_posts", "recent_authors", "computed_at", "hidden_at")
    list_filter = (HiddenFilter,)
    list_select_related = ("hashtag",)
    search_fields = ("hashtag__name",)
    ordering = ("-score",)
    readonly_fields = [f.name for f in Trend._meta.fields]
    actions = ["hide", "show"]

    @admin.display(description="hashtag", ordering="hashtag__name")
    def name(self, trend):
        return f"#{trend.hashtag.name}"

    def has_add_permission(self, request):
        return False  # the beat task makes them

    def has_delete_permission(self, request, obj=None):
        return False  # a deleted hidden row would come back visible; hide instead

    def has_hide_trend_permission(self, request):
        return request.user.has_perm("search.hide_trend")

    @admin.action(description="Hide selected trends", permissions=["hide_trend"])
    def hide(self, request, queryset):
        selected = list(queryset.select_related("hashtag"))
        for trend in selected:
            trends.hide(name=trend.hashtag.name, moderator=request.user)
        self.message_user(request, f"Hid {len(selected)} trend(s).")

    @admin.action(description="Show selected trends again", permissions=["hide_trend"])
    def show(self, request, queryset):
        selected = list(queryset.select_related("hashtag"))
        for trend in selected:
            trends.show(name=trend.hashtag.name, moderator=request.user)
        self.message_user(request, f"Showed {len(selected)} trend(s).")
