from django.urls import path

from search import views, welcome

urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/trends/", views.trends_panel, name="search_trends_panel"),
    path("search/suggestions/", views.suggestions_panel, name="search_suggestions_panel"),
    path("explore/", views.explore, name="explore"),
    path("welcome/", welcome.interests, name="welcome"),
    path("welcome/people/", welcome.people, name="welcome_people"),
    path("welcome/done/", welcome.done, name="welcome_done"),
]
