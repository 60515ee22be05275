"""Web pages for direct messages: the inbox and requests, a conversation, new message and new
group forms, group management and the message preference.

Views are thin: they parse the request and call messaging.selectors (reads) or
messaging.services (writes). A conversation the viewer isn't a member of answers 404 (a
non-member can't tell whether it exists); other service errors become form errors or django
messages with the service's own words. Every form works without JavaScript (POST, then a
redirect); static/js/chat.js adds the live parts over the shared /ws/ socket.

"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models.functions import Lower
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts import selectors as account_selectors
from messaging import selectors, services
from messaging.forms import (
    AddMembersForm,
    MessageEditForm,
    MessageForm,
    NewGroupForm,
    NewMessageForm,
    PreferencesForm,
    ReactForm,
    RenameForm,
    new_client_id,
)
from messaging.models import REACTION_EMOJI, Conversation, Membership
from socialsite.errors import ForbiddenError, NotFoundError, ServiceError
from socialsite.web import safe_next_url

PAGE_SIZE = 30  # messages per page of a conversation
SEARCH_RESULTS = 30  # matches shown for a search in a conversation
INBOX_PAGE_SIZE = 30  # conversations per page of the inbox


def _user_ids_by_username(viewer, usernames, form, field):
    """Ids of these usernames (any case) among the accounts the viewer may see, or None with a form error."""
    wanted = [name.lower() for name in usernames]
    found = {
        row["lower_username"]: str(row["pk"])
        for row in account_selectors.user_list_queryset(viewer=viewer)
        .annotate(lower_username=Lower("username"))
        .filter(lower_username__in=wanted)
        .values("pk", "lower_username")
    }
    missing = [name for name in usernames if name.lower() not in found]
    if missing:
        form.add_error(field, f"No such user: {', '.join('@' + name for name in missing)}.")
        return None
    return [found[name] for name in wanted]


# --- Helpers -------------------------------------------------------------------------------------


def _conversation_url(conversation_id, anchor=""):
    url = reverse("conversation", args=[conversation_id])
    return f"{url}#{anchor}" if anchor else url


def _membership_or_404(request, conversation_id):
    try:
        return selectors.conversation_get(user=request.user, conversation_id=conversation_id)
    except NotFoundError:
        raise Http404("No such conversation.")


def _add_error(form, exc, field_map=None):
    """A service error onto the form: on the field it names, else on the whole form."""
    field_map = field_map or {}
    names = [field_map.get(name, name) for name in exc.fields or {}]
    field = next((name for name in names if name in form.fields), None)
    form.add_error(field, exc.message)


def _decorate(membership, viewer):
    """Display fields on a membership from selectors.conversation_get / conversations: no queries."""
    conversation = membership.conversation
    members = conversation.active_members
    others = [member.user for member in members if member.user_id != viewer.pk]
    membership.is_group = conversation.kind == Conversation.Kind.GROUP
    # Removed from the group: the conversation stays, read-only (no composer, no management).
    membership.is_removed = membership.removed and not membership.active
    membership.is_admin = membership.role == Membership.Role.ADMIN and membership.active
    membership.members = members
    membership.others = others
    membership.other = None if membership.is_group else (others[0] if others else None)
    if conversation.title:
        membership.display_title = conversation.title
    elif others:
        names = sorted((user.profile.name for user in others), key=str.lower)
        membership.display_title = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    else:
        membership.display_title = "Just you"
    return membership


def _receipts(membership):
    """The cursors of every member who ever was (selectors.receipts_of), for chat.js to turn the
    ticks and name the readers as receipts arrive."""
    return json.dumps(
        [
            {
                "user_id": str(member.user_id),
                "username": member.user.username,
                "joined_seq": member.joined_seq,
                "left_seq": member.left_seq,
                "delivered_seq": member.delivered_seq,
                "read_seq": member.read_seq,
            }
            for member in membership.conversation.all_members
        ]
    )


# --- Inbox ----------------------------------------------------------------------------------------


def _folder_page(request, folder):
    queryset = selectors.conversations(user=request.user, folder=folder)
    page = Paginator(queryset, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    memberships = selectors.for_display(list(page.object_list))
    for membership in memberships:
        _decorate(membership, request.user)
    return page, memberships


@login_required
@require_safe
def inbox(request):
    return _inbox(request, Membership.Folder.INBOX)


@login_required
@require_safe
def requests_folder(request):
    return _inbox(request, Membership.Folder.REQUESTS)


def _inbox(request, folder):
    page, memberships = _folder_page(request, folder)
    if folder == Membership.Folder.REQUESTS:
        requests_count = page.paginator.count
    else:
        requests_count = selectors.conversations(user=request.user, folder=Membership.Folder.REQUESTS).count()
    context = {"page": page, "conversations": memberships, "folder": folder, "requests_count": requests_count}
    if request.htmx:  # chat.js reloads the list in place when something changes
        return render(request, "messaging/_conversation_list.html", context)
    return render(request, "messaging/inbox.html", context)


@login_required
@require_POST
def accept(request, conversation_id):
    try:
        services.conversation_accept(user=request.user, conversation_id=conversation_id)
    except NotFoundError:
        raise Http404("No such conversation.")
    messages.success(request, "Request accepted: the conversation is in your inbox.")
    return redirect(safe_next_url(request, _conversation_url(conversation_id)))


# --- A conversation --------------------------------------------------------------------------------


def _before(request):
    before = request.GET.get("before")
    if before in (None, ""):
        return None
    if not before.isdigit():
        raise ServiceError("“before” is a message number.")
    return int(before)


@login_required
@require_safe
def conversation(request, conversation_id):
    membership = _membership_or_404(request, conversation_id)
    return _conversation_page(request, membership, MessageForm(initial={"client_id": new_client_id()}))


def _conversation_page(request, membership, form):
    """The latest messages (or those before ?before=<seq>), oldest at the top; with HX-Request
    and ?before, only that page of older messages (chat.js puts it on top as you scroll up)."""
    try:
        before = _before(request)
    except ServiceError as exc:
        return render(request, "errors/400.html", {"message": exc.message}, status=400)
    queryset = selectors.messages(user=request.user, conversation_id=membership.conversation_id)
    if before is not None:
        queryset = queryset.filter(seq__lt=before)
    rows = list(queryset.order_by("-seq")[: PAGE_SIZE + 1])
    older = rows[PAGE_SIZE - 1].seq if len(rows) > PAGE_SIZE else None
    chat_messages = selectors.with_status(rows[:PAGE_SIZE])[::-1]
    for message in chat_messages:
        message.reaction_list = selectors.reaction_summary(message, request.user.pk)
    _decorate(membership, request.user)
    context = {
        "membership": membership,
        "conversation": membership.conversation,
        "chat_messages": chat_messages,
        "older_before": older,
        "paged": before is not None,
        "reaction_emoji": REACTION_EMOJI,
        "can_react": membership.active,
        "first_unread_seq": None if before is not None else _first_unread(chat_messages, membership, request.user),
    }
    if before is not None and request.htmx:
        return render(request, "messaging/_message_page.html", context)
    query = (request.GET.get("q") or "").strip()
    if query:
        results, error = _search(request, membership, query)
        context.update(search=query, search_results=results, search_error=error)
    blocked = membership.other is not None and account_selectors.blocked_between(request.user, membership.other)
    gone = membership.other is not None and not membership.other.is_active  # deleted or suspended
    context.update(
        form=form,
        blocked=blocked,
        gone=gone,
        receipts=_receipts(membership),
        rename_form=RenameForm(initial={"title": membership.conversation.title}),
        add_form=AddMembersForm(),
    )
    return render(request, "messaging/conversation.html", context)


def _first_unread(chat_messages, membership, viewer):
    """The seq of the first message the viewer hadn't read when the page opened (the "New
    messages" line goes above it), or None: someone else's, neither a line about the group nor deleted."""
    for message in chat_messages:
        if (
            message.seq > membership.read_seq
            and message.sender_id != viewer.pk
            and not message.is_system
            and message.deleted_at is None
        ):
            return message.seq
    return None


def _search(request, membership, query):
    """(the newest matches of `query` in the conversation, None) or ([], why not)."""
    try:
        found = selectors.message_search(
            selectors.messages(user=request.user, conversation_id=membership.conversation_id), query
        )
    except ServiceError as exc:
        return [], exc.message
    return list(found.order_by("-seq")[:SEARCH_RESULTS]), None


@login_required
@require_POST
def send(request, conversation_id):
    """The no-JavaScript send: a message, then back to the conversation's newest messages."""
    membership = _membership_or_404(request, conversation_id)
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            services.message_send(
                sender=request.user,
                conversation_id=membership.conversation_id,
                content=form.cleaned_data["content"],
                client_id=form.cleaned_data["client_id"],
                reply_to=form.cleaned_data["reply_to"] or None,
            )
        except NotFoundError:
            raise Http404("No such conversation.")
        except ServiceError as exc:
            _add_error(form, exc, {"reply_to": "content"})  # the hidden field has no place to show it
        else:
            return redirect(_conversation_url(membership.conversation_id))
    return _conversation_page(request, membership, form)


def _own_message_or_404(request, message_id):
    message = selectors.messages(user=request.user).filter(pk=message_id).first()
    if message is None:
        raise Http404("No such message.")
    if message.is_system or message.sender_id != request.user.pk:
        raise PermissionDenied("You can only change your own messages.")
    return message


@login_required
def message_edit(request, message_id):
    message = _own_message_or_404(request, message_id)
    back = _conversation_url(message.conversation_id, f"message-{message.pk}")
    if message.deleted_at is not None:
        messages.error(request, "This message was deleted.")
        return redirect(back)
    if request.method == "POST":
        form = MessageEditForm(request.POST)
        if form.is_valid():
            try:
                services.message_edit(editor=request.user, message_id=message.pk, content=form.cleaned_data["content"])
            except NotFoundError:
                raise Http404("No such message.")
            except ForbiddenError as exc:
                raise PermissionDenied(exc.message)
            except ServiceError as exc:
                _add_error(form, exc)
            else:
                messages.success(request, "Message edited.")
                return redirect(back)
    else:
        form = MessageEditForm(initial={"content": message.content})
    return render(request, "messaging/message_edit.html", {"message": message, "form": form, "back": back})


@login_required
@require_POST
def message_delete(request, message_id):
    """Erase one's own message. chat.js posts it with htmx (204); the message.deleted event updates every page."""
    message = _own_message_or_404(request, message_id)
    back = _conversation_url(message.conversation_id)
    try:
        services.message_delete(actor=request.user, message_id=message.pk)
    except NotFoundError:
        raise Http404("No such message.")
    except ForbiddenError as exc:
        raise PermissionDenied(exc.message)
    except ServiceError as exc:  # already deleted
        if request.htmx:
            return HttpResponse(status=204)
        messages.error(request, exc.message)
        return redirect(back)
    if request.htmx:
        return HttpResponse(status=204)
    messages.success(request, "Message deleted.")
    return redirect(back)


@login_required
@require_POST
def message_react(request, message_id):
    """The no-JavaScript reaction (chat.js reacts over the socket): add or take off an emoji."""
    message = selectors.messages(user=request.user).filter(pk=message_id).first()
    if message is None:
        raise Http404("No such message.")
    form = ReactForm(request.POST)
    back = _conversation_url(message.conversation_id, f"message-{message.pk}")
    if not form.is_valid():
        messages.error(request, "Pick an emoji.")
        return redirect(back)
    react = services.message_react if form.cleaned_data["on"] else services.message_unreact
    try:
        react(user=request.user, message_id=message.pk, emoji=form.cleaned_data["emoji"])
    except NotFoundError:
        raise Http404("No such message.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(back)


# --- Groups --------------------------------------------------------------------------------------


def _group_action(request, conversation_id, act, success):
    """Run a group service; its refusal becomes a message on the conversation page."""
    try:
        act()
    except NotFoundError:
        raise Http404("No such conversation.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(_conversation_url(conversation_id))


@login_required
@require_POST
def rename(request, conversation_id):
    form = RenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_conversation_url(conversation_id))
    title = form.cleaned_data["title"]
    return _group_action(
        request,
        conversation_id,
        lambda: services.conversation_rename(actor=request.user, conversation_id=conversation_id, title=title),
        "Group renamed." if title.strip() else "Group name removed.",
    )


@login_required
@require_POST
def members_add(request, conversation_id):
    membership = _membership_or_404(request, conversation_id)
    form = AddMembersForm(request.POST)
    user_ids = None
    if form.is_valid():
        user_ids = _user_ids_by_username(request.user, form.cleaned_data["members"], form, "members")
        if user_ids is not None and not user_ids:
            form.add_error("members", "Name at least one person.")
            user_ids = None
    if user_ids is None:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_conversation_url(membership.conversation_id))
    return _group_action(
        request,
        membership.conversation_id,
        lambda: services.members_add(actor=request.user, conversation_id=membership.conversation_id, user_ids=user_ids),
        "Added to the group." if len(user_ids) == 1 else f"{len(user_ids)} people added to the group.",
    )


@login_required
@require_POST
def member_remove(request, conversation_id, user_id):
    return _group_action(
        request,
        conversation_id,
        lambda: services.member_remove(actor=request.user, conversation_id=conversation_id, user_id=user_id),
        "Removed from the group.",
    )


@login_required
@require_POST
def leave(request, conversation_id):
    try:
        services.member_remove(actor=request.user, conversation_id=conversation_id, user_id="me")
    except NotFoundError:
        raise Http404("No such conversation.")
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(_conversation_url(conversation_id))
    messages.success(request, "You left the group.")
    return redirect("messages_inbox")


# --- New conversations ---------------------------------------------------------------------------


@login_required
def new_message(request):
    """To a username: reuses the 1:1 with them (made on the first message)."""
    if request.method == "POST":
        form = NewMessageForm(request.POST)
        if form.is_valid():
            conversation_id = _start_direct(request, form)
            if conversation_id is not None:
                return redirect(_conversation_url(conversation_id))
    else:
        to = (request.GET.get("to") or "").strip().lstrip("@")
        if to:
            existing = _existing_direct(request, to)
            if existing is not None:
                return redirect(_conversation_url(existing.conversation_id))
        form = NewMessageForm(initial={"to": to, "client_id": new_client_id()})
    return render(request, "messaging/new_message.html", {"form": form})


def _existing_direct(request, username):
    try:
        other = account_selectors.user_get_by_username(viewer=request.user, username=username)
    except NotFoundError:
        return None
    if other.pk == request.user.pk:
        return None
    return selectors.direct_with(user=request.user, other=other)


def _start_direct(request, form):
    data = form.cleaned_data
    try:
        other = account_selectors.user_get_by_username(viewer=request.user, username=data["to"])
    except NotFoundError:
        form.add_error("to", "No such user.")
        return None
    try:
        message, _ = services.message_send(
            sender=request.user, receiver_id=other.pk, content=data["content"], client_id=data["client_id"]
        )
    except ServiceError as exc:
        _add_error(form, exc, {"receiver_id": "to"})
        return None
    return message.conversation_id


@login_required
def new_group(request):
    if request.method == "POST":
        form = NewGroupForm(request.POST)
        if form.is_valid():
            user_ids = _user_ids_by_username(request.user, form.cleaned_data["members"], form, "members")
            if user_ids is not None:
                try:
                    membership = services.conversation_group_create(
                        creator=request.user, title=form.cleaned_data["title"], member_ids=user_ids
                    )
                except ServiceError as exc:
                    _add_error(form, exc, {"member_ids": "members"})
                else:
                    return redirect(_conversation_url(membership.conversation_id))
    else:
        form = NewGroupForm(initial={"members": request.GET.get("with", "")})
    return render(request, "messaging/new_group.html", {"form": form})


# --- Preferences ---------------------------------------------------------------------------------


@login_required
def message_settings(request):
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                services.preferences_update(user=request.user, direct_from=form.cleaned_data["direct_from"])
            except ServiceError as exc:
                _add_error(form, exc)
            else:
                messages.success(request, "Message settings saved.")
                return redirect("message_settings")
    else:
        form = PreferencesForm(initial={"direct_from": selectors.direct_from(user=request.user)})
    return render(request, "messaging/settings.html", {"form": form, "section": "messages"})
