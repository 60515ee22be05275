"""django-allauth adapters: profiles for every new account, phone numbers on the user."""

from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.contrib.auth import get_user_model
from django.contrib.sites.shortcuts import get_current_site
from django.http import Http404, HttpResponseRedirect

from accounts import suspension
from accounts.selectors import login_attempt_key
from accounts.services import profile_ensure
from accounts.sms import send_sms


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        # The emails name the site by the address it was reached at (the Site row says
        # 127.0.0.1:8000 even when make run serves another port).
        request = allauth_context.request
        if request is not None and "current_site" not in context:
            site = get_current_site(request)
            context = {**context, "current_site": SimpleNamespace(name=site.name, domain=request.get_host())}
        super().send_mail(template_prefix, email, context)

    def _get_login_attempts_cache_key(self, request, **credentials):
        # allauth counts failed log-ins per thing typed: a username and an email address were two
        # limits on one account. The web form and the API (accounts/api/views.py) share this one.
        typed = credentials.get("email") or credentials.get("username") or ""
        key = login_attempt_key(login=typed, phone=credentials.get("phone") or "")
        return f"{get_current_site(request).domain}:{key}"

    def respond_user_inactive(self, request, user):
        # A suspended account that just proved who it is (password, code or provider) sees why,
        # with the appeal form, instead of allauth's "This account is inactive" page.
        if suspension.is_suspended(user):
            return HttpResponseRedirect(suspension.page_url(user))
        return super().respond_user_inactive(request, user)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            profile_ensure(user=user)
        return user

    def set_phone(self, user, phone, verified):
        user.phone = phone
        user.phone_verified = verified
        user.save(update_fields=["phone", "phone_verified"])

    def get_phone(self, user):
        if not user.phone:
            return None
        return str(user.phone), user.phone_verified

    def set_phone_verified(self, user, phone):
        # allauth's change-phone flow passes the new number only here.
        self.set_phone(user, phone, True)

    def get_user_by_phone(self, phone):
        return get_user_model().objects.filter(phone=phone, is_active=True).order_by("-phone_verified").first()

    def send_verification_code_sms(self, user, phone, code, **kwargs):
        send_sms(phone, f"Your socialsite code is {code}. It expires in a few minutes.")

    def send_unknown_account_sms(self, phone, **kwargs):
        send_sms(phone, "Someone tried to sign in to socialsite with this number, but no account uses it.")

    def send_account_already_exists_sms(self, phone):
        send_sms(phone, "Someone tried to sign up to socialsite with this number, which already has an account.")


class ProviderNotConfigured(SocialApp.DoesNotExist, Http404):
    """A sign-in provider with no app configured: allauth's DoesNotExist, and a 404 to a browser
    (it was a 500 with the debug page on /accounts/google/login/)."""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise ProviderNotConfigured(f"Sign-in with {provider} isn't set up here.") from None

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form=form)
        profile_ensure(user=user)
        return user
