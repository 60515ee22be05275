"""The welcome steps after sign-up (/welcome/): pick interests, then follow suggested accounts.

Sign-up leads here (ACCOUNT_SIGNUP_REDIRECT_URL). Step 1 stores the chosen interests on the
profile (accounts.services.interests_set); step 2 offers `search.suggestions.onboarding_suggestions`
with the usual follow buttons (HTMX, or plain forms that come back here); "Done" or "Skip"
marks the profile onboarded (accounts.services.onboarding_finish) and goes home, and /welcome/
then sends an onboarded account home. Plain forms throughout: it works without JavaScript.
"""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services as account_services
from accounts.models import Profile
from search import suggestions
from socialsite.errors import ServiceError

PEOPLE_SHOWN = 12


class InterestsForm(forms.Form):
    interests = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, current=(), **kwargs):
        super().__init__(*args, **kwargs)
        offered = list(settings.ONBOARDING_INTERESTS)
        offered += [name for name in current if name not in offered]  # what the profile has already
        self.fields["interests"].choices = [(name, name.capitalize()) for name in offered]


def _onboarded(user):
    return Profile.objects.filter(user=user, onboarded_at__isnull=False).exists()


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def interests(request):
    """Step 1: a grid of interest chips (checkboxes)."""
    if _onboarded(request.user):
        return redirect("home")
    current = sorted(request.user.profile.interests.values_list("name", flat=True))
    if request.method == "POST":
        form = InterestsForm(request.POST, current=current)
        if form.is_valid():
            try:
                account_services.interests_set(user=request.user, names=form.cleaned_data["interests"])
            except ServiceError as exc:
                form.add_error("interests", exc.message)
            else:
                return redirect("welcome_people")
    else:
        form = InterestsForm(initial={"interests": current}, current=current)
    return render(request, "search/welcome.html", {"form": form, "step": 1})


@login_required
@require_http_methods(["GET", "HEAD"])
def people(request):
    """Step 2: accounts to follow, each with its follow button."""
    if _onboarded(request.user):
        return redirect("home")
    found = suggestions.onboarding_suggestions(request.user, PEOPLE_SHOWN)
    return render(request, "search/welcome_people.html", {"suggestions": found, "step": 2})


@login_required
@require_POST
def done(request):
    """Done or Skip: never offered again; home."""
    account_services.onboarding_finish(user=request.user)
    return redirect("home")
