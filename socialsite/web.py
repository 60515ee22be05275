"""What every app's web pages share. An HTMX request is `request.htmx` (django-htmx's middleware)."""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request, fallback):
    """Where to go back to: the `next` the form or link names when it is this site's, else `fallback`."""
    url = request.POST.get("next") or request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return fallback
