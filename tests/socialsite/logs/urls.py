"""A view that fails, for the request_failed line (test_requests.py)."""

from django.urls import path


def fail(request):
    raise RuntimeError("the view failed")


urlpatterns = [path("fail", fail, name="test-fail")]
