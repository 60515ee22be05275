from django.urls import path

from notifications.api import listen, views

urlpatterns = [
    path("users/<userref:user_id>/notifications", views.UserNotificationsView.as_view(), name="api-user-notifications"),
    path(
        "users/<userref:user_id>/notifications/groups",
        views.UserNotificationGroupsView.as_view(),
        name="api-user-notification-groups",
    ),
    path("users/<userref:user_id>/bells/<uuid:author_id>", views.BellView.as_view(), name="api-user-bell"),
    path("notifications/unread-count", views.UnreadCountView.as_view(), name="api-notifications-unread"),
    path("notifications/read-all", views.ReadAllView.as_view(), name="api-notifications-read-all"),
    path("notifications/preferences", views.PreferencesView.as_view(), name="api-notification-preferences"),
    path("push/key", views.PushKeyView.as_view(), name="api-push-key"),
    path("push/subscriptions", views.PushSubscriptionsView.as_view(), name="api-push-subscriptions"),
    path("notifications/stream", listen.stream, name="api-notifications-stream"),
    path("notifications/poll", listen.poll, name="api-notifications-poll"),
    path("notifications/<str:notification_id>/read", views.ReadView.as_view(), name="api-notification-read"),
]
