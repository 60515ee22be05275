from django.urls import path

from feeds import views

urlpatterns = [
    path("", views.home, name="home"),
    path("feed/new", views.new_posts, name="feed_new"),
]
