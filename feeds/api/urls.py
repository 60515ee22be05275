from django.urls import path

from feeds.api import views

urlpatterns = [
    path("feed", views.FeedView.as_view(), name="api-feed"),
]
