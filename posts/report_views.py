"""The report page: anyone signed in can report a post, comment or account they can see.

GET shows the form; POST files the report through posts.moderation.report_create and goes back
to what was reported. A target the reporter can't see, or an unknown kind of target, is a 404.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from posts import moderation
from posts.models import Report
from socialsite.errors import NotFoundError, ServiceError
from socialsite.web import safe_next_url

THANKS = "Thanks — our moderators will review it."

REASON_LABELS: dict[str, str] = {
    Report.Reason.SPAM: "Spam or scam",
    Report.Reason.HARASSMENT: "Harassment or bullying",
    Report.Reason.HATE: "Hate speech or symbols",
    Report.Reason.VIOLENCE: "Violence or threats",
    Report.Reason.NUDITY: "Nudity or sexual content",
    Report.Reason.MISINFORMATION: "False information",
    Report.Reason.SELF_HARM: "Self-harm or suicide",
    Report.Reason.OTHER: "Something else",
}
REASON_CHOICES = [(value, REASON_LABELS.get(value, label)) for value, label in Report.Reason.choices]


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label="Why are you reporting this?", choices=REASON_CHOICES, widget=forms.RadioSelect)
    details = forms.CharField(
        label="Details (optional)",
        required=False,
        max_length=moderation.DETAILS_MAX_CHARS,
        help_text="Anything that helps our moderators understand the problem.",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": moderation.DETAILS_MAX_CHARS, "data-counter": ""}),
    )


def _target_or_404(request, target_type, target_id):
    if target_type not in moderation.TARGET_TYPES:
        raise Http404("No such kind of target.")
    try:
        target, owner_id = moderation.report_target_get(request.user, target_type, target_id)
    except NotFoundError:
        raise Http404(f"No such {target_type}.")
    return target, owner_id


def _target_url(target_type, target):
    if target_type == "post":
        return reverse("post_detail", args=[target.pk])
    if target_type == "comment":
        return reverse("post_detail", args=[target.post_id]) + f"#comment-{target.pk}"
    return reverse("profile", args=[target.username])


@login_required
def report(request, target_type, target_id):
    target, owner_id = _target_or_404(request, target_type, target_id)
    back = safe_next_url(request, _target_url(target_type, target))
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid():
            try:
                moderation.report_create(
                    reporter=request.user,
                    target_type=target_type,
                    target_id=target_id,
                    reason=form.cleaned_data["reason"],
                    details=form.cleaned_data["details"],
                )
            except NotFoundError:
                raise Http404(f"No such {target_type}.")
            except ServiceError as exc:
                field = next((name for name in exc.fields or {} if name in form.fields), None)
                form.add_error(field, exc.message)
            else:
                messages.success(request, THANKS)
                return redirect(back)
    else:
        form = ReportForm()
    context = {
        "form": form,
        "target_type": target_type,
        "target": target,
        "own": owner_id == request.user.pk,
        "back": back,
        "next": safe_next_url(request, ""),
    }
    return render(request, "posts/report.html", context)
