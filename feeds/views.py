"""Web pages for the home feed: the signed-in home page, older pages and the newer posts.

The same selector as GET /api/v1/feed (`feeds.selectors.home_feed`) picks the posts; the rows
it returns are values with fresh counters, and `posts.cards` makes the cards from them: each
card's body from a fragment cached per post version, its buttons from the row. Signed-out
visitors get the landing page.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.selectors import display_name_cached
from feeds import selectors
from posts import cards
from posts.selectors import popular_posts_queryset
from socialsite.errors import ServiceError

PAGE_SIZE = 20
POPULAR_SHOWN = 10  # an empty feed shows this many popular public posts instead
NEW_POSTS_MAX = 50  # the "N new posts" button loads at most this many at once


def _bad_request(request, exc, fragment):
    if fragment:
        return render(request, "feeds/_error.html", {"message": exc.message}, status=400)
    return render(request, "errors/400.html", {"message": exc.message}, status=400)


@require_safe
def home(request):
    if not request.user.is_authenticated:
        return render(request, "home.html")  # the landing page
    cursor = request.GET.get("cursor") or None
    fragment = bool(cursor) and bool(request.htmx)
    try:
        page = selectors.home_feed(viewer=request.user, limit=PAGE_SIZE, cursor=cursor)
    except ServiceError as exc:
        return _bad_request(request, exc, fragment)
    context = {"cards": cards.render(request, page.rows), "next_cursor": page.next_cursor}
    if fragment:  # "Older posts": the cards and the next button, appended in place
        return render(request, "feeds/_page.html", context)
    context.update(
        paged=bool(cursor),
        newest_cursor=page.newest_cursor or "",
        welcome_name=display_name_cached(user=request.user),
        # Never an empty first page: while the timeline is empty, what's popular (search's Explore).
        popular=popular_posts_queryset(viewer=request.user)[:POPULAR_SHOWN] if not page.rows and not cursor else (),
    )
    return render(request, "feeds/home.html", context)


@require_safe
@login_required
def new_posts(request):
    """The cards of the posts newer than `since` (a feed cursor or a post id), newest first.

    With more than NEW_POSTS_MAX of them, the fragment holds no cards and asks feed.js to reload
    the page instead (the first page and "Older posts" then show them all, none skipped).
    """
    since = request.GET.get("since") or None
    try:
        page = selectors.home_feed(viewer=request.user, limit=NEW_POSTS_MAX + 1, since=since)
    except ServiceError as exc:
        return _bad_request(request, exc, fragment=True)
    if len(page.rows) > NEW_POSTS_MAX:
        return render(request, "feeds/_new_posts.html", {"cards": [], "newest_cursor": since or "", "reload": True})
    return render(
        request,
        "feeds/_new_posts.html",
        {"cards": cards.render(request, page.rows), "newest_cursor": page.newest_cursor or ""},
    )
