"""Admin actions that need a reason: a confirmation page asks for it, then each item is acted on
through a service, and the outcome is logged and reported back (used by both report queues)."""

from django.contrib import messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from socialsite.errors import ServiceError


def act_with_reason(model_admin, request, items, *, action, verb, explanation, template, act, noun="report"):
    """On the first call, the confirmation page; once a reason is posted, `act(item, reason)` for each."""
    reason = (request.POST.get("reason") or "").strip()
    if request.POST.get("post") != "yes" or not reason:
        context = {
            **model_admin.admin_site.each_context(request),
            "title": f"{verb} — give a reason",
            "opts": model_admin.model._meta,
            "reports": items,
            "action": action,
            "verb": verb,
            "explanation": explanation,
            "reason": reason,
            "reason_missing": request.POST.get("post") == "yes",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = model_admin.admin_site.name
        return TemplateResponse(request, template, context)
    done, failed = 0, []
    for item in items:
        try:
            act(item, reason)
        except ServiceError as exc:
            failed.append(f"{item.pk}: {exc.message}")
            continue
        model_admin.log_change(request, item, f"{verb}: {reason}")
        done += 1
    if done:
        model_admin.message_user(request, f"{verb}: {done} {noun}{'s' if done != 1 else ''} done.", messages.SUCCESS)
    if failed:
        model_admin.message_user(request, "Skipped " + "; ".join(failed), messages.WARNING)
    return None
