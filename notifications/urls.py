from django.urls import path

from notifications import views

urlpatterns = [
    path("notifications/", views.notifications_page, name="notifications"),
    path("notifications/open/", views.notification_open, name="notification_open"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("settings/notifications/", views.notification_settings, name="notification_settings"),
    path("users/<uuid:user_id>/bell/on/", views.bell_on, name="bell_on"),
    path("users/<uuid:user_id>/bell/off/", views.bell_off, name="bell_off"),
]
