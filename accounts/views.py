"""Web pages: parse the request, call a selector (reads) or a service (writes), render.

Service errors become django messages (or inline form errors); HTMX requests get
fragments back, everything else a full page or a POST-redirect-GET.
"""

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import DeleteAccountForm, ProfileForm
from socialsite.errors import ForbiddenError, NotFoundError, ServiceError
from socialsite.web import safe_next_url

PAGE_SIZE = 20


# --- Profiles and connections -------------------------------------------------------------------


def user_or_404(request, username):
    try:
        return selectors.user_get_by_username(viewer=request.user, username=username)
    except NotFoundError:
        raise Http404("No such user.")


def profile_context(request, person):
    """What a profile's header shows: the person and how the viewer relates to them. The profile
    page itself, which adds the person's posts, is posts.views.profile."""
    return {
        "person": person,
        "rel": selectors.relationship(viewer=request.user, user=person),
        "can_view_connections": selectors.can_view_connections(viewer=request.user, user=person),
    }


def followers(request, username):
    return _connections(request, username, selectors.followers_queryset, "follower", "Followers")


def following(request, username):
    return _connections(request, username, selectors.following_queryset, "followed", "Following")


def _connections(request, username, selector, related, title):
    person = user_or_404(request, username)
    try:
        follows = selector(viewer=request.user, user=person)
    except ForbiddenError as exc:
        return render(request, "accounts/private.html", {"person": person, "message": exc.message}, status=403)
    page = _page(request, follows)
    return render(
        request,
        "accounts/connections.html",
        {"person": person, "page": page, "people": [getattr(f, related) for f in page], "title": title},
    )


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# --- Relationship actions (POST) -----------------------------------------------------------------


def _user_action(request, user_id, act):
    """Run `act` (a service call returning a success message); answer HTMX with the follow button."""
    try:
        message = act()
    except ServiceError as exc:
        messages.error(request, exc.message)
        message = None
    try:
        person = selectors.user_get(viewer=request.user, user_id=user_id)
    except NotFoundError:
        person = None
    if message:
        messages.success(request, message.format(name=f"@{person.username}" if person else "that account"))
    if request.htmx:
        context = {"person": person, "oob_counts": request.POST.get("oob_counts") == "1"}
        if person:
            context.update(profile_context(request, person), next_url=safe_next_url(request, ""))
        response = render(request, "accounts/_follow_response.html", context)
        if person is None:
            response["HX-Reswap"] = "none"  # a vanished account keeps its button; only the message changes
        return response
    fallback = reverse("profile", args=[person.username]) if person else reverse("home")
    return redirect(safe_next_url(request, fallback))


@login_required
@require_POST
def follow(request, user_id):
    def act():
        outcome = services.follow_create(follower=request.user, followed_user_id=user_id)
        return "Follow request sent to {name}." if outcome.status == "requested" else "You now follow {name}."

    return _user_action(request, user_id, act)


@login_required
@require_POST
def unfollow(request, user_id):
    def act():
        changed = services.follow_delete(follower=request.user, followed_user_id=user_id)
        return "You no longer follow {name}." if changed else None

    return _user_action(request, user_id, act)


@login_required
@require_POST
def block(request, user_id):
    def act():
        services.block_create(blocker=request.user, blocked_user_id=user_id)
        return "You blocked {name}. Neither of you follows the other now."

    return _user_action(request, user_id, act)


@login_required
@require_POST
def unblock(request, user_id):
    def act():
        services.block_delete(blocker=request.user, blocked_user_id=user_id)
        return "You unblocked {name}."

    return _user_action(request, user_id, act)


@login_required
@require_POST
def mute(request, user_id):
    def act():
        services.mute_create(muter=request.user, muted_user_id=user_id)
        return "You muted {name}."

    return _user_action(request, user_id, act)


@login_required
@require_POST
def unmute(request, user_id):
    def act():
        services.mute_delete(muter=request.user, muted_user_id=user_id)
        return "You unmuted {name}."

    return _user_action(request, user_id, act)


# --- Settings -------------------------------------------------------------------------------------


@login_required
def profile_edit(request):
    profile = request.user.profile
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid() and _save_profile(request.user, form):
            messages.success(request, "Your profile was saved.")
            return redirect("profile", username=request.user.username)
    else:
        form = ProfileForm(initial=ProfileForm.initial_for(profile))
    return render(request, "accounts/profile_edit.html", {"form": form, "profile": profile, "section": "profile"})


def _save_profile(user, form):
    data = form.cleaned_data
    try:
        # One transaction: a rejected avatar also leaves the other fields unsaved, as the form says.
        with transaction.atomic():
            services.profile_update(
                user=user,
                display_name=data["display_name"],
                bio=data["bio"],
                interests=data["interests"],
                is_private=data["is_private"],
            )
            if data["avatar"]:
                services.avatar_set(user=user, upload=data["avatar"])
            elif data["remove_avatar"]:
                services.avatar_remove(user=user)
    except ServiceError as exc:
        field = next((name for name in exc.fields or {} if name in form.fields), None)
        form.add_error(field, exc.message)
        return False
    return True


@login_required
def delete_account(request):
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_deactivate(user=request.user)
        logout(request)
        messages.success(request, "Your account was deleted. Goodbye!")
        return redirect("home")
    return render(request, "accounts/delete_account.html", {"form": form, "section": "delete"})


@login_required
def sessions(request):
    """Log out everywhere else: every other browser, and every app signed in with a token."""
    if request.method == "POST":
        services.user_sign_out_everywhere(user=request.user)
        update_session_auth_hash(request, request.user)  # this browser stays signed in
        messages.success(request, "You're signed out on every other browser and app.")
        return redirect("sessions")
    return render(request, "accounts/sessions.html", {"section": "sessions"})


@login_required
def follow_requests(request):
    page = _page(request, selectors.follow_requests_queryset(user=request.user))
    return render(request, "accounts/follow_requests.html", {"page": page, "section": "requests"})


def _request_action(request, act, success):
    try:
        act()
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(safe_next_url(request, reverse("follow_requests")))


@login_required
@require_POST
def follow_request_approve(request, request_id):
    return _request_action(
        request,
        lambda: services.follow_request_approve(target=request.user, request_id=request_id),
        "Request approved.",
    )


@login_required
@require_POST
def follow_request_reject(request, request_id):
    return _request_action(
        request,
        lambda: services.follow_request_reject(target=request.user, request_id=request_id),
        "Request declined.",
    )


@login_required
def blocked(request):
    page = _page(request, selectors.blocks_queryset(user=request.user))
    return render(
        request,
        "accounts/settings_people.html",
        {
            "section": "blocked",
            "title": "Blocked accounts",
            "intro": "Blocked accounts can't see your profile or follow you.",
            "empty": "You haven't blocked anyone.",
            "page": page,
            "people": [b.blocked for b in page],
            "action": "unblock",
            "action_label": "Unblock",
        },
    )


@login_required
def muted(request):
    page = _page(request, selectors.mutes_queryset(user=request.user))
    return render(
        request,
        "accounts/settings_people.html",
        {
            "section": "muted",
            "title": "Muted accounts",
            "intro": "You won't see posts from muted accounts. They aren't told.",
            "empty": "You haven't muted anyone.",
            "page": page,
            "people": [m.muted for m in page],
            "action": "unmute",
            "action_label": "Unmute",
        },
    )
