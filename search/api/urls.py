from django.urls import path

from search.api import discovery, views

urlpatterns = [
    path("search", views.SearchView.as_view(), name="api-search"),
    path("search/autocomplete", views.AutocompleteView.as_view(), name="api-search-autocomplete"),
    path("explore/posts", discovery.ExplorePostsView.as_view(), name="api-explore-posts"),
    path("trends", discovery.TrendsView.as_view(), name="api-trends"),
    path("users/<userref:user_id>/suggestions", discovery.SuggestionsView.as_view(), name="api-user-suggestions"),
]
