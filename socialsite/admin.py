"""The outbox in the admin: what the broker hasn't confirmed yet, and a way to push it now."""

from django.contrib import admin, messages
from django.utils import timezone

from socialsite import outbox
from socialsite.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "queue", "created_at", "due_at", "attempts", "last_error")
    list_filter = ("task",)
    ordering = ("id",)
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    actions = ["publish_now"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        backlog = outbox.backlog()
        extra_context = {
            **(extra_context or {}),
            "title": f"Outbox: {backlog['count']} waiting, oldest {backlog['oldest_seconds']:.0f} s",
        }
        return super().changelist_view(request, extra_context)

    @admin.action(description="Publish now", permissions=["view"])
    def publish_now(self, request, queryset):
        queryset.update(due_at=timezone.now())
        published = outbox.relay()
        level = messages.SUCCESS if published else messages.WARNING
        self.message_user(request, f"Published {published} messages; see the log if the broker refused.", level)
