from django.conf import settings
from django.urls import path, re_path

from posts import appeal_views, media_files, report_views, views

urlpatterns = [
    path("posts/new/", views.post_create, name="post_create"),
    path("posts/people-search/", views.people_search, name="people_search"),
    path("posts/<uuid:post_id>/", views.post_detail, name="post_detail"),
    path("posts/<uuid:post_id>/edit/", views.post_edit, name="post_edit"),
    path("posts/<uuid:post_id>/delete/", views.post_delete, name="post_delete"),
    path("posts/<uuid:post_id>/like/", views.like, name="post_like"),
    path("posts/<uuid:post_id>/unlike/", views.unlike, name="post_unlike"),
    path("posts/<uuid:post_id>/share/", views.share, name="post_share"),
    path("posts/<uuid:post_id>/bookmark/", views.bookmark, name="post_bookmark"),
    path("posts/<uuid:post_id>/unbookmark/", views.unbookmark, name="post_unbookmark"),
    path("posts/<uuid:post_id>/pin/", views.pin, name="post_pin"),
    path("posts/<uuid:post_id>/unpin/", views.unpin, name="post_unpin"),
    path("bookmarks/", views.bookmarks, name="bookmarks"),
    path("posts/<uuid:post_id>/comments/", views.comment_create, name="comment_create"),
    path("posts/<uuid:post_id>/comments/<uuid:comment_id>/", views.comment_thread, name="comment_thread"),
    path("posts/<uuid:post_id>/comments/<uuid:comment_id>/edit/", views.comment_edit, name="comment_edit"),
    path("posts/<uuid:post_id>/comments/<uuid:comment_id>/delete/", views.comment_delete, name="comment_delete"),
    path("u/<str:username>/", views.profile, name="profile"),
    path("tags/<str:name>/", views.hashtag, name="hashtag"),
    path("report/<str:target_type>/<str:target_id>/", report_views.report, name="report"),
    path("moderation/actions/<str:action_id>/", appeal_views.action_page, name="moderation_action"),
    path(
        "moderation/actions/<str:action_id>/dismiss/", appeal_views.warning_dismiss, name="moderation_warning_dismiss"
    ),
    path("moderation/suspended/", appeal_views.suspended, name="moderation_suspended"),
]

if settings.SERVE_MEDIA:  # local media (the embedded default): media_files checks post media's signatures
    urlpatterns += [re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", media_files.serve)]
