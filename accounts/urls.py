from django.urls import path
from django.views.generic import RedirectView

from accounts import views

urlpatterns = [
    path("u/<str:username>/followers/", views.followers, name="followers"),
    path("u/<str:username>/following/", views.following, name="following"),
    path("users/<uuid:user_id>/follow/", views.follow, name="follow"),
    path("users/<uuid:user_id>/unfollow/", views.unfollow, name="unfollow"),
    path("users/<uuid:user_id>/block/", views.block, name="block"),
    path("users/<uuid:user_id>/unblock/", views.unblock, name="unblock"),
    path("users/<uuid:user_id>/mute/", views.mute, name="mute"),
    path("users/<uuid:user_id>/unmute/", views.unmute, name="unmute"),
    path("settings/", RedirectView.as_view(pattern_name="profile_edit"), name="settings"),
    path("settings/profile/", views.profile_edit, name="profile_edit"),
    path("settings/sessions/", views.sessions, name="sessions"),
    # allauth's phone page is /accounts/phone/change/; the address people type goes there too.
    path("accounts/phone/", RedirectView.as_view(pattern_name="account_change_phone"), name="phone"),
    path("settings/delete/", views.delete_account, name="delete_account"),
    path("settings/requests/", views.follow_requests, name="follow_requests"),
    path("settings/requests/<int:request_id>/approve/", views.follow_request_approve, name="follow_request_approve"),
    path("settings/requests/<int:request_id>/reject/", views.follow_request_reject, name="follow_request_reject"),
    path("settings/blocked/", views.blocked, name="blocked"),
    path("settings/muted/", views.muted, name="muted"),
]
