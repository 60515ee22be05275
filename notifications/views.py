"""Web pages for notifications: the grouped list, opening a line, mark all read, the settings page
(one checkbox per type, and the bells that are on) and the bell toggle on a profile.

Views are thin: they parse the request and call notifications.selectors (reads) or
notifications.services (writes); both only ever touch the signed-in user's own rows. Every form
works without JavaScript (POST, then a redirect); static/js/notifications.js adds the live header
badge and refreshes the list over the shared /ws/ socket.
"""

from datetime import UTC

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST, require_safe

from accounts import selectors as account_selectors
from notifications import push, selectors, services
from notifications.forms import PreferencesForm
from socialsite.errors import NotFoundError, ServiceError
from socialsite.web import safe_next_url

PAGE_SIZE = 20  # lines (groups) per page of /notifications/
GROUP_KEY_MAX_LENGTH = 160  # Notification.group_key


def _bad_request(request, message):
    return render(request, "errors/400.html", {"message": message}, status=400)


# --- The list -------------------------------------------------------------------------------------


def _before(request):
    """?before=<a line's latest_at, ISO 8601>: the page of lines older than it. None: the newest page."""
    value = request.GET.get("before")
    if value in (None, ""):
        return None
    try:
        when = parse_datetime(value)
    except ValueError:
        when = None
    if when is None:
        raise ServiceError("“before” is a date and time.")
    return when if timezone.is_aware(when) else timezone.make_aware(when, UTC)


def _line(group, samples):
    """What a line shows: selectors.group_payload plus the sampled actors as users (for avatars)."""
    actors = []
    for row in samples:
        if all(actor.pk != row.actor_id for actor in actors):
            actors.append(row.actor)
    payload = selectors.group_payload(group, samples)
    return {
        "group": payload,
        "actors": actors,
        "latest_at": group["latest_at"],
        "unread": group["unread"] > 0,
        "excerpt": payload["latest"]["excerpt"],
    }


@login_required
@require_safe
def notifications_page(request):
    """The newest lines first, PAGE_SIZE at a time; an "Older" link carries ?before=. With
    HX-Request, only the list (notifications.js reloads it in place when something changes)."""
    try:
        before = _before(request)
    except ServiceError as exc:
        return _bad_request(request, exc.message)
    groups = selectors.groups_for(request.user)
    if before is not None:
        groups = groups.filter(latest_at__lt=before)
    groups = list(groups[: PAGE_SIZE + 1])
    older = groups[PAGE_SIZE - 1]["latest_at"].isoformat() if len(groups) > PAGE_SIZE else None
    groups = groups[:PAGE_SIZE]
    samples = selectors.group_samples(request.user, [group["group_key"] for group in groups])
    lines = [_line(group, samples[group["group_key"]]) for group in groups if group["group_key"] in samples]
    context = {"lines": lines, "older": older, "paged": before is not None}
    if request.htmx:
        return render(request, "notifications/_list.html", context)
    return render(request, "notifications/list.html", context)


@login_required
@require_POST
def notification_open(request):
    """A click on a line: mark its group read, then go to what it is about (the newest row's
    target, worked out here: the form names only the group). Another user's group_key finds and
    marks nothing."""
    group_key = (request.POST.get("group_key") or "").strip()
    if not group_key or len(group_key) > GROUP_KEY_MAX_LENGTH:
        return _bad_request(request, "Which notification? The form named none.")
    latest = selectors.notifications_for(request.user).filter(group_key=group_key).first()
    services.mark_all_read(user=request.user, group_key=group_key)
    if latest is None:
        messages.info(request, "That notification is no longer there.")
        return redirect("notifications")
    return redirect(selectors.target_url(latest))


@login_required
@require_POST
def notifications_read_all(request):
    changed = services.mark_all_read(user=request.user)
    if changed:
        messages.success(request, "All notifications marked as read.")
    return redirect(safe_next_url(request, reverse("notifications")))


# --- Settings ---------------------------------------------------------------------------------------


@login_required
def notification_settings(request):
    """One checkbox per type, and the accounts whose bell is on (each with a turn-off button)."""
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                services.preferences_update(user=request.user, changes=form.changes())
            except ServiceError as exc:
                form.add_error(None, exc.message)
                for name, errors in (exc.fields or {}).items():
                    if name in form.fields:
                        form.add_error(name, errors)
            else:
                messages.success(request, "Notification settings saved.")
                return redirect("notification_settings")
    else:
        form = PreferencesForm(initial=services.preferences_for(request.user).as_dict())
    bells = selectors.bells_of(request.user)
    context = {
        "form": form,
        "bells": [bell.author for bell in bells],
        "section": "notifications",
        "push_key": push.public_key(),
    }
    return render(request, "notifications/settings.html", context)


# --- The bell on a profile ----------------------------------------------------------------------------


def _bell(request, user_id, on):
    """Turn the bell on or off; answer HTMX with the toggle, everything else with a redirect."""
    try:
        services.bell_set(user=request.user, author_id=user_id, on=on)
    except NotFoundError:
        raise Http404("No such user.")
    except ServiceError as exc:  # not following, or oneself
        messages.error(request, exc.message)
        changed = False
    else:
        changed = True
    try:
        person = account_selectors.user_get(viewer=request.user, user_id=user_id)
    except NotFoundError:
        person = None
    name = f"@{person.username}" if person else "that account"
    if changed and on:
        messages.success(request, f"Bell on: you'll be notified of every new post by {name}.")
    elif changed:
        messages.success(request, f"Bell off: no more new-post notifications from {name}.")
    if request.htmx and person is None:  # a vanished account keeps its button; only the message changes
        response = render(request, "notifications/_bell_response.html", {"person": None})
        response["HX-Reswap"] = "none"
        return response
    if request.htmx:
        context = {
            "person": person,
            "rel": account_selectors.relationship(viewer=request.user, user=person),
            "bell": selectors.bell_on(request.user, person),
            "next_url": safe_next_url(request, ""),
        }
        return render(request, "notifications/_bell_response.html", context)
    fallback = reverse("profile", args=[person.username]) if person else reverse("notification_settings")
    return redirect(safe_next_url(request, fallback))


@login_required
@require_POST
def bell_on(request, user_id):
    return _bell(request, user_id, True)


@login_required
@require_POST
def bell_off(request, user_id):
    return _bell(request, user_id, False)
