"""Web pages for posts: compose, detail with the comment thread, likes, shares, hashtags.

Views parse the request and call a selector (reads) or a service (writes). A post or comment
the viewer may not see answers 404; acting in someone else's name answers 403. Other service
errors become form errors or django messages. HTMX requests get a fragment back.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors as account_selectors
from accounts.views import profile_context, user_or_404
from posts import appeal_views, moderation, selectors, services, text
from posts.forms import CommentForm, PostEditForm, PostForm, QuoteForm
from posts.models import Post
from posts.text import normalize_hashtag
from socialsite.errors import ForbiddenError, NotFoundError, ServiceError
from socialsite.web import safe_next_url

PAGE_SIZE = 20
COMMENTS_PAGE_SIZE = 50
THREAD_DEPTH = 3  # comment levels shown on one page; deeper replies get "continue thread"
PEOPLE_SEARCH_LIMIT = 8
MAX_MEDIA = services.MAX_IMAGES


# --- Helpers ---------------------------------------------------------------------------------------


def _post_or_404(request, post_id):
    try:
        return selectors.post_get(viewer=request.user, post_id=post_id)
    except NotFoundError:
        raise Http404("No such post.")


def _comment_or_404(request, post, comment_id):
    try:
        return selectors.comment_get(viewer=request.user, post=post, comment_id=comment_id)
    except NotFoundError:
        raise Http404("No such comment.")


def _add_errors(form, exc, field_map=None):
    """A service error onto the form: on the field it names, else on the whole form."""
    field_map = field_map or {}
    names = [field_map.get(name, name) for name in exc.fields or {}]
    field = next((name for name in names if name in form.fields), None)
    form.add_error(field, exc.message)


def _page(request, queryset, size=PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


# --- Compose ---------------------------------------------------------------------------------------


@login_required
def post_create(request):
    if request.method == "POST":
        form = PostForm(request.POST)
        media_ids = request.POST.getlist("media_ids")[: MAX_MEDIA + 1]
        if form.is_valid():
            post = _create(request, form, media_ids)
            if post is not None:
                if post.status == Post.Status.PENDING_MEDIA:
                    messages.info(request, "Your post will appear once its media is processed.")
                else:
                    messages.success(request, "Your post is live.")
                return redirect("post_detail", post_id=post.pk)
    else:
        form = PostForm()
    return render(request, "posts/compose.html", {"form": form, "max_media": MAX_MEDIA})


def _create(request, form, media_ids):
    data = form.cleaned_data
    tagged_ids = _tagged_user_ids(request, form, data["tagged"])
    if tagged_ids is None:
        return None
    content_type = data["content_type"]
    if media_ids and content_type == Post.ContentType.TEXT:
        content_type = Post.ContentType.IMAGE
    elif not media_ids:
        # A text post with a link becomes a link post, so the worker fetches its preview card.
        has_link = bool(text.first_url(data["content"]))
        content_type = Post.ContentType.LINK if has_link else Post.ContentType.TEXT
    try:
        return services.post_create(
            author=request.user,
            content_type=content_type,
            content=data["content"],
            media_ids=media_ids,
            visibility=data["visibility"],
            filter=data["filter"],
            tagged_user_ids=tagged_ids,
            spoiler_text=data["spoiler_text"],
        )
    except ServiceError as exc:
        _add_errors(form, exc, {"tagged_user_ids": "tagged"})
        return None


def _tagged_user_ids(request, form, usernames):
    if not usernames:
        return []
    wanted = [name.lower() for name in usernames]
    found = {
        user.lower_username: user.pk
        for user in account_selectors.user_list_queryset(viewer=request.user)
        .annotate(lower_username=Lower("username"))
        .filter(lower_username__in=wanted)
    }
    missing = [name for name in usernames if name.lower() not in found]
    if missing:
        form.add_error("tagged", f"No such user: {', '.join('@' + name for name in missing)}.")
        return None
    return [str(found[name]) for name in wanted]


@login_required
@require_GET
def people_search(request):
    """Up to 8 accounts whose username or display name starts with ?q=, for tag autocomplete."""
    query = request.GET.get("q", "").strip().lstrip("@")[:30]
    results = []
    if query:
        people = (
            account_selectors.user_list_queryset(viewer=request.user)
            .filter(Q(username__istartswith=query) | Q(profile__display_name__istartswith=query))
            .order_by("username")[:PEOPLE_SEARCH_LIMIT]
        )
        results = [{"username": person.username, "name": person.profile.name} for person in people]
    return JsonResponse({"results": results})


# --- Post pages -------------------------------------------------------------------------------------


def post_detail(request, post_id):
    try:
        post = selectors.post_get(viewer=request.user, post_id=post_id)
    except NotFoundError:
        moderated = moderation.moderated_post_for_author(viewer=request.user, post_id=post_id)
        if moderated is None:
            raise Http404("No such post.")
        return appeal_views.moderated_post(request, *moderated)  # its author learns why it is gone
    if post.is_repost and post.shared_post is not None:  # its likes and comments are the original's
        return redirect("post_detail", post_id=post.shared_post_id)
    page = _page(request, selectors.comments_queryset(viewer=request.user, post=post), COMMENTS_PAGE_SIZE)
    comments = selectors.comment_thread(viewer=request.user, post=post, roots=list(page), depth=THREAD_DEPTH)
    return render(
        request,
        "posts/detail.html",
        {"post": post, "page": page, "comments": comments, "comment_form": CommentForm(), "quote_form": QuoteForm()},
    )


def comment_thread(request, post_id, comment_id):
    post = _post_or_404(request, post_id)
    comment = _comment_or_404(request, post, comment_id)
    selectors.comment_thread(viewer=request.user, post=post, roots=[comment], depth=THREAD_DEPTH)
    return render(request, "posts/thread.html", {"post": post, "comment": comment, "comment_form": CommentForm()})


def profile(request, username):
    """A person's page: their profile's header (accounts) over their pinned posts, then their latest."""
    person = user_or_404(request, username)
    pinned = selectors.profile_pinned(viewer=request.user, user=person)
    latest = selectors.user_posts_queryset(viewer=request.user, user=person, unpinned=True)[:PAGE_SIZE]
    posts = [*pinned, *latest]
    return render(request, "posts/profile.html", {**profile_context(request, person), "posts": posts})


@login_required
@require_GET
def bookmarks(request):
    """The viewer's bookmarks (private), last bookmarked first."""
    page = _page(request, selectors.bookmarks_queryset(user=request.user))
    return render(request, "posts/bookmarks.html", {"page": page, "posts": page.object_list})


def hashtag(request, name):
    tag = normalize_hashtag(name)
    page = _page(request, selectors.hashtag_posts_queryset(viewer=request.user, name=tag))
    return render(request, "posts/hashtag.html", {"tag": tag, "page": page, "posts": page.object_list})


@login_required
def post_edit(request, post_id):
    post = _post_or_404(request, post_id)
    if post.author_id != request.user.pk:
        raise PermissionDenied("Only the author can edit this post.")
    if request.method == "POST":
        form = PostEditForm(request.POST)
        if form.is_valid():
            try:
                services.post_update(
                    post=post,
                    editor=request.user,
                    content=form.cleaned_data["content"],
                    visibility=form.cleaned_data["visibility"],
                    spoiler_text=form.cleaned_data["spoiler_text"],
                )
            except ForbiddenError:
                raise PermissionDenied("Only the author can edit this post.")
            except ServiceError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "Your post was updated.")
                return redirect("post_detail", post_id=post.pk)
    else:
        initial = {"content": post.content, "visibility": post.visibility, "spoiler_text": post.spoiler_text}
        form = PostEditForm(initial=initial)
    return render(request, "posts/edit.html", {"post": post, "form": form})


@login_required
@require_POST
def post_delete(request, post_id):
    try:
        post = selectors.post_get_bare(viewer=request.user, post_id=post_id)
        services.post_delete(post=post, actor=request.user)
    except NotFoundError:
        raise Http404("No such post.")
    except ForbiddenError as exc:
        raise PermissionDenied(exc.message)
    messages.success(request, "Your post was deleted.")
    return redirect("profile", username=request.user.username)


# --- Likes and shares (HTMX fragments, or POST-redirect-GET) ---------------------------------------------


def _fragment_or_redirect(request, post_id, template, context):
    if request.htmx:
        try:  # the post the action went to: a repost's original, whose count and state it shows
            context["post"] = selectors.acted_on(viewer=request.user, post_id=post_id)
        except NotFoundError:
            raise Http404("No such post.")
        response = render(request, template, context)
        return response
    return redirect(safe_next_url(request, reverse("post_detail", args=[post_id])))


def _interact(request, act):
    try:
        return act()
    except NotFoundError:
        raise Http404("No such post.")
    except ServiceError as exc:
        messages.error(request, exc.message)
        return None


@login_required
@require_POST
def like(request, post_id):
    _interact(request, lambda: services.like_create(user=request.user, post_id=post_id))
    return _fragment_or_redirect(request, post_id, "posts/_like_response.html", {"liked": True})


@login_required
@require_POST
def unlike(request, post_id):
    _interact(request, lambda: services.like_delete(user=request.user, post_id=post_id))
    return _fragment_or_redirect(request, post_id, "posts/_like_response.html", {"liked": False})


@login_required
@require_POST
def share(request, post_id):
    """A repost (no text, HTMX button) or a quote (text, from the quote form)."""
    form = QuoteForm(request.POST)
    content = request.POST.get("content", "")
    if content.strip() and not form.is_valid():
        messages.error(request, " ".join(form.errors.get("content", ["That quote can't be posted."])))
        return redirect("post_detail", post_id=post_id)
    outcome = _interact(request, lambda: services.share_create(user=request.user, post_id=post_id, content=content))
    if outcome is not None:
        shared, created = outcome
        if shared.content.strip():
            messages.success(request, "You quoted this post.")
            return redirect("post_detail", post_id=shared.pk)
        messages.success(request, "You shared this post." if created else "You already shared this post.")
    return _fragment_or_redirect(request, post_id, "posts/_share_response.html", {"shared": outcome is not None})


# --- Bookmarks and pins ------------------------------------------------------------------------------


@login_required
@require_POST
def bookmark(request, post_id):
    _interact(request, lambda: services.bookmark_add(user=request.user, post_id=post_id))
    return _fragment_or_redirect(request, post_id, "posts/_bookmark_response.html", {"bookmarked": True})


@login_required
@require_POST
def unbookmark(request, post_id):
    _interact(request, lambda: services.bookmark_remove(user=request.user, post_id=post_id))
    if request.htmx:
        try:
            post = selectors.acted_on(viewer=request.user, post_id=post_id)
        except NotFoundError:  # let go of a post that went away: nothing left to show
            return render(request, "includes/messages.html")
        return render(request, "posts/_bookmark_response.html", {"post": post, "bookmarked": False})
    return redirect(safe_next_url(request, reverse("bookmarks")))


def _pin(request, post_id, act, done):
    try:
        act(user=request.user, post_id=post_id)
    except NotFoundError:
        raise Http404("No such post.")
    except ForbiddenError as exc:
        raise PermissionDenied(exc.message)
    except ServiceError as exc:  # the limit
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(safe_next_url(request, reverse("profile", args=[request.user.username])))


@login_required
@require_POST
def pin(request, post_id):
    return _pin(request, post_id, services.post_pin, "Pinned to your profile.")


@login_required
@require_POST
def unpin(request, post_id):
    return _pin(request, post_id, services.post_unpin, "Unpinned.")


# --- Comments -----------------------------------------------------------------------------------------


@login_required
@require_POST
def comment_create(request, post_id):
    post = _post_or_404(request, post_id)
    form = CommentForm(request.POST)
    fallback = reverse("post_detail", args=[post.pk])
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(safe_next_url(request, fallback))
    parent = form.cleaned_data["parent"]
    try:
        comment = services.comment_create(
            author=request.user, post_id=post.pk, content=form.cleaned_data["content"], parent_comment_id=parent
        )
    except NotFoundError as exc:
        if parent is None:
            raise Http404("No such post.")
        messages.error(request, exc.message)
        return redirect(safe_next_url(request, fallback))
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(safe_next_url(request, fallback))
    messages.success(request, "Reply posted." if parent else "Comment posted.")
    return redirect(safe_next_url(request, fallback) + f"#comment-{comment.pk}")


@login_required
def comment_edit(request, post_id, comment_id):
    post = _post_or_404(request, post_id)
    comment = _comment_or_404(request, post, comment_id)
    if comment.author_id != request.user.pk:
        raise PermissionDenied("Only the author can edit this comment.")
    if request.method == "POST":
        form = CommentForm(request.POST)
        if form.is_valid():
            try:
                services.comment_update(comment=comment, editor=request.user, content=form.cleaned_data["content"])
            except ServiceError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "Your comment was updated.")
                return redirect(reverse("post_detail", args=[post.pk]) + f"#comment-{comment.pk}")
    else:
        form = CommentForm(initial={"content": comment.content})
    return render(request, "posts/comment_edit.html", {"post": post, "comment": comment, "form": form})


@login_required
@require_POST
def comment_delete(request, post_id, comment_id):
    post = _post_or_404(request, post_id)
    comment = _comment_or_404(request, post, comment_id)
    try:
        services.comment_delete(comment=comment, actor=request.user)
    except ForbiddenError as exc:
        raise PermissionDenied(exc.message)
    messages.success(request, "The comment was deleted.")
    return redirect(safe_next_url(request, reverse("post_detail", args=[post.pk])))
