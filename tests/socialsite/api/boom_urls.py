"""The project's URLs plus endpoints that fail on purpose, to test the error paths."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from socialsite.urls import urlpatterns as project_urlpatterns


class Boom(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret internals")


def plain_boom(request):
    raise RuntimeError("secret internals")


urlpatterns = [path("api/v1/boom", Boom.as_view()), path("api/v1/plain-boom", plain_boom), *project_urlpatterns]
handler404 = "socialsite.views.page_not_found"
handler500 = "socialsite.views.server_error"
