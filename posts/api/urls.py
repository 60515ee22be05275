from django.urls import path

from posts.api import reports, views

urlpatterns = [
    path("posts", views.PostsView.as_view(), name="api-posts"),
    path("posts/<str:post_id>", views.PostDetailView.as_view(), name="api-post"),
    path("posts/<str:post_id>/likes", views.LikesView.as_view(), name="api-post-likes"),
    path("posts/<str:post_id>/likes/<userref:user_id>", views.LikeDetailView.as_view(), name="api-post-like"),
    path("posts/<str:post_id>/bookmark", views.BookmarkView.as_view(), name="api-post-bookmark"),
    path("posts/<str:post_id>/pin", views.PinView.as_view(), name="api-post-pin"),
    path("bookmarks", views.BookmarksView.as_view(), name="api-bookmarks"),
    path("posts/<str:post_id>/comments", views.CommentsView.as_view(), name="api-post-comments"),
    path("posts/<str:post_id>/comments/<str:comment_id>", views.CommentDetailView.as_view(), name="api-post-comment"),
    path("posts/<str:post_id>/shares", views.SharesView.as_view(), name="api-post-shares"),
    path("users/<userref:user_id>/posts", views.UserPostsView.as_view(), name="api-user-posts"),
    path("hashtags/<str:name>/posts", views.HashtagPostsView.as_view(), name="api-hashtag-posts"),
    path("reports", reports.ReportsView.as_view(), name="api-reports"),
]
