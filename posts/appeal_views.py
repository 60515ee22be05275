"""What the person a moderator acted on sees: the action's page (what, why, the appeal form),
the warning banner's dismiss button, and the suspended page.

The suspended page is for an account that can't sign in: it takes the short-lived signed token
accounts.suspension hands out after the account proved who it is (a correct log-in, or its
session still open when it was suspended). Without a valid token it shows nothing of anyone.
Appeals go through posts.moderation.appeal_create: own actions only, one open appeal per action,
rate-limited.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import suspension
from posts import moderation
from socialsite.errors import NotFoundError, ServiceError
from socialsite.web import safe_next_url

SENT = "Your appeal was sent; a moderator will look at it, and you'll be told the outcome."


class AppealForm(forms.Form):
    message = forms.CharField(
        label="Why should the decision change?",
        max_length=moderation.APPEAL_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": moderation.APPEAL_MAX_CHARS, "data-counter": ""}),
    )


def _file(form, *, appellant, action):
    """Send a valid form's appeal; the service's refusal becomes a form error. -> appeal or None."""
    try:
        appeal, _ = moderation.appeal_create(
            appellant=appellant, action_id=action.pk, message=form.cleaned_data["message"]
        )
    except NotFoundError:
        raise Http404("No such moderation action.")
    except ServiceError as exc:
        form.add_error("message" if "message" in (exc.fields or {}) else None, exc.message)
        return None
    return appeal


@login_required
def action_page(request, action_id):
    """A moderator's action on the viewer's account or content: what, why, and the appeal."""
    try:
        action = moderation.own_action_get(user=request.user, action_id=action_id)
    except NotFoundError:
        raise Http404("No such moderation action.")
    form = AppealForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and _file(form, appellant=request.user, action=action):
        messages.success(request, SENT)
        return redirect("moderation_action", action_id=action.pk)
    context = {"action": action, "appeal": moderation.appeal_for(action), "form": form}
    return render(request, "posts/moderation_action.html", context)


@login_required
@require_POST
def warning_dismiss(request, action_id):
    try:
        moderation.warning_dismiss(user=request.user, action_id=action_id)
    except NotFoundError:
        raise Http404("No such warning.")
    if request.htmx:
        return HttpResponse("")  # the banner swaps itself out
    return redirect(safe_next_url(request, "/"))


def suspended(request):
    """The suspended account's page: why, and the appeal form (only with a valid token)."""
    token = request.POST.get("t") or request.GET.get("t") or ""
    user = suspension.user_for(token)
    if user is None:
        return render(request, "posts/suspended.html", {"expired": True}, status=403)
    action = moderation.latest_suspension(user)
    appeal = moderation.appeal_for(action) if action is not None else None
    form = AppealForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and action is not None and form.is_valid():
        appeal = _file(form, appellant=user, action=action) or appeal
        if appeal is not None and not form.errors:
            messages.success(request, SENT)
    context = {
        "expired": False,
        "account": user,
        "action": action,
        "appeal": appeal,
        "form": form,
        "token": token,
        "minutes": suspension.TOKEN_MAX_AGE // 60,
    }
    return render(request, "posts/suspended.html", context)


def moderated_post(request, post, action):
    """The author's view of their post a moderator hid or removed (posts.views.post_detail)."""
    context = {"post": post, "action": action, "appeal": moderation.appeal_for(action)}
    return render(request, "posts/moderated_post.html", context)
