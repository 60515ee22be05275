from django.urls import path  # noqa: F401 -- the pages arrive with notifications/views.py

urlpatterns = []
