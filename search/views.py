"""Web pages for search and discovery: /search/ and the sidebar panels (trends, who to follow).

Thin like the API's views: `search.query.parse` checks the parameters, `search.selectors`
answers, so the page shows exactly what GET /api/v1/search would, page by page.
"""

import math

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from accounts.models import FollowRequest
from posts.selectors import popular_posts_queryset
from search import query, selectors, suggestions, trends
from search.api.views import SearchThrottle
from socialsite.errors import ServiceError

PAGE_SIZE = 20
TRENDS_SHOWN = 10
SUGGESTIONS_SHOWN = 5
EXPLORE_POSTS_SHOWN = 20
EXPLORE_PEOPLE_SHOWN = 8
TABS = (("post", "Posts"), ("user", "People"), ("hashtag", "Hashtags"))
CONTENT_TYPES = (("text", "Text"), ("image", "Photos"), ("video", "Videos"), ("link", "Links"))
# The page's own parameters; every other one goes to query.parse, which refuses what it doesn't know.
PAGE_PARAMS = {"q", "query", "offset", "cursor", "limit"}


def _offset(raw):
    """Where the page starts. A hand-edited offset (not a whole number, or past the deepest page)
    starts at the top rather than failing: the query itself is still worth answering."""
    if raw and raw.isdecimal() and int(raw) < settings.SEARCH_MAX_RESULTS:
        return int(raw)
    return 0


def _url(params, offset=0):
    return f"{reverse('search')}?{urlencode({**params, **({'offset': offset} if offset else {})})}"


def _suggestions(user, limit=SUGGESTIONS_SHOWN):
    if not user.is_authenticated:
        return []
    return suggestions.suggestions_for(user, limit=limit)


def _people(viewer, users):
    """(user, relationship) pairs for the follow buttons: one query for pending requests."""
    requested = set()
    if viewer.is_authenticated and users:
        requested = set(
            FollowRequest.objects.filter(requester=viewer, target__in=users).values_list("target_id", flat=True)
        )
    return [
        (person, {"following": getattr(person, "followed_by_me", False), "requested": person.pk in requested})
        for person in users
    ]


@require_safe
def search(request):
    q = request.GET.get("q", "")
    # The filter form sends its empty fields too: they mean "any".
    filters = {name: value for name, value in request.GET.items() if name not in PAGE_PARAMS and value != ""}
    kind = filters.get("type") if filters.get("type") in dict(TABS) else "post"  # query.parse refuses others
    context = {
        "q": q,
        "type": kind,
        "filters": filters,
        "query_max": settings.SEARCH_QUERY_MAX,
        "hashtag_count_max": selectors.HASHTAG_COUNT_MAX,
        "tabs": [(value, label, _url({"q": q, "type": value})) for value, label in TABS],
        "unfiltered_url": _url({"q": q, "type": kind}),
        "content_types": CONTENT_TYPES,
        "trends": trends.trending(TRENDS_SHOWN),
        "suggestions": _suggestions(request.user),
    }
    try:
        found = query.parse({**filters, "query": q}, request.user)
    except ServiceError as exc:
        if exc.code == "query_required":  # nothing typed yet: the form and the panels
            return render(request, "search/search.html", context)
        context["error"] = exc
        return render(request, "search/search.html", context, status=400)

    throttle = SearchThrottle()  # the API's, and its bucket: the two doors share THROTTLE_SEARCH
    if not throttle.allow_request(request, None):
        context["error"] = ServiceError("Too many searches; wait a minute.", code="throttled")
        response = render(request, "search/search.html", context, status=429)
        response["Retry-After"] = str(math.ceil(throttle.wait() or 1))
        return response
    offset = _offset(request.GET.get("offset"))
    limit = min(PAGE_SIZE, settings.SEARCH_MAX_RESULTS - offset)
    rows, more = selectors.search(request.user, found, offset=offset, limit=limit)
    params = {**filters, "q": q}
    more = more and offset + limit < settings.SEARCH_MAX_RESULTS
    context.update(
        searched=True,
        results=_people(request.user, rows) if found.type == "user" else rows,
        more_url=_url(params, offset + limit) if more else None,
        previous_url=_url(params, max(offset - PAGE_SIZE, 0)) if offset else None,
    )
    return render(request, "search/search.html", context)


@require_safe
def trends_panel(request):
    """The trends list alone, loaded into other pages' sidebars (templates/search/_trends.html)."""
    return render(request, "search/_trend_list.html", {"trends": trends.trending(TRENDS_SHOWN)})


@require_safe
def suggestions_panel(request):
    """Who to follow alone, loaded into other pages' sidebars (templates/search/_suggestions.html)."""
    # Follow forms return to the page the panel sits in, not to this fragment.
    next_url = request.htmx.current_url_abs_path or reverse("home")
    return render(
        request, "search/_suggestion_list.html", {"suggestions": _suggestions(request.user), "next_url": next_url}
    )


@require_safe
def explore(request):
    """Trending posts (the most engaged public posts of the last days the viewer may see), trending
    hashtags and people: suggestions when signed in, the most followed accounts signed out."""
    page = Paginator(popular_posts_queryset(viewer=request.user), EXPLORE_POSTS_SHOWN).get_page(request.GET.get("page"))
    if request.user.is_authenticated:
        people = _suggestions(request.user, EXPLORE_PEOPLE_SHOWN)
        if len(people) < EXPLORE_PEOPLE_SHOWN:
            more = suggestions.popular_accounts(
                request.user, EXPLORE_PEOPLE_SHOWN - len(people), exclude=[found.user.pk for found in people]
            )
            people += [suggestions.Suggestion(person, suggestions.POPULAR) for person in more]
    else:
        people = [
            suggestions.Suggestion(person, suggestions.POPULAR)
            for person in suggestions.popular_accounts(None, EXPLORE_PEOPLE_SHOWN)
        ]
    context = {
        "page": page,
        "posts": page.object_list,
        "trends": trends.trending(TRENDS_SHOWN),
        "suggestions": people,
        "next_url": reverse("explore"),
    }
    return render(request, "search/explore.html", context)
