from django.urls import path

from media.api import views

urlpatterns = [
    path("media", views.MediaUploadView.as_view(), name="api-media"),
    path("media/<uuid:media_id>", views.MediaDetailView.as_view(), name="api-media-detail"),
]
