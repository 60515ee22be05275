from django.urls import path

from search import views

urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/trends/", views.trends_panel, name="search_trends_panel"),
    path("search/suggestions/", views.suggestions_panel, name="search_suggestions_panel"),
]
