"""The moderators' admin.

Reads are ordinary admin pages. Writes that carry domain rules go through
accounts.services: deactivation, avatar removal, profile edits (going public approves
pending requests) and deletions of follows, requests, blocks and mutes (the
follower counters stay in step). Follow-graph rows are never added or edited here.

Moderators (the "moderators" group, see migration 0002) can view everything, edit
users and profiles, suspend and unsuspend accounts from a user's page (with a reason,
accounts.services.user_suspend; posts writes the audit row) and delete follows. They can't grant privileges, can't edit
staff accounts other than their own, and can't delete users.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UsernameField
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts import services, suspension
from accounts.models import Block, Follow, FollowRequest, Interest, Mute, Profile, User
from socialsite.errors import ServiceError

PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


def may_edit_account(request, user):
    """Only superusers edit staff accounts; everyone with the permission may edit their own."""
    if user is None or request.user.is_superuser or user.pk == request.user.pk:
        return True
    return not (user.is_staff or user.is_superuser)


def avatar_img(profile, size=64):
    if profile is None or not profile.avatar:
        return "—"
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="avatar of {}">', profile.avatar.url, size, size, profile.user
    )


# --- Forms ----------------------------------------------------------------------------------


def _check_username(form, username):
    minimum = getattr(settings, "ACCOUNT_USERNAME_MIN_LENGTH", 1)
    if username and len(username) < minimum:
        raise ValidationError(f"Use at least {minimum} characters.", code="username_too_short")
    return username


def _check_email(form, email):
    if not email:
        return None  # NULL, so the case-insensitive unique index allows many accounts without email
    email = User.objects.normalize_email(email).strip()
    taken = User.objects.filter(email__iexact=email).exclude(pk=form.instance.pk)
    if taken.exists():
        raise ValidationError("An account with this email already exists.", code="unique")
    return email


class UserCreationForm(AdminUserCreationForm):
    """Username (unique regardless of case), optional email, optional usable password."""

    class Meta:
        model = User
        fields = ("username", "email")
        field_classes = {"username": UsernameField}

    def clean_username(self):
        return _check_username(self, super().clean_username())

    def clean_email(self):
        return _check_email(self, self.cleaned_data.get("email"))


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"username": UsernameField}

    def clean_username(self):
        username = self.cleaned_data.get("username")
        if username and User.objects.filter(username__iexact=username).exclude(pk=self.instance.pk).exists():
            raise ValidationError("This username is taken.", code="unique")
        return _check_username(self, username)

    def clean_email(self):
        return _check_email(self, self.cleaned_data.get("email"))


class ProfileForm(forms.ModelForm):
    """Checks what profile_update would refuse, so the service never fails after validation."""

    class Meta:
        model = Profile
        fields = ("display_name", "bio", "is_private", "interests", "profile_info")

    def clean_interests(self):
        interests = self.cleaned_data.get("interests")
        if interests is not None and len(interests) > services.MAX_INTERESTS:
            raise ValidationError(f"At most {services.MAX_INTERESTS} interests.")
        return interests

    def clean_profile_info(self):
        try:
            return services.validate_profile_info(self.cleaned_data.get("profile_info"))
        except ServiceError as exc:
            raise ValidationError(exc.message)


PROFILE_SERVICE_FIELDS = {"display_name", "bio", "is_private", "profile_info"}


def profile_update_from_form(profile_form):
    """Send the changed fields of a profile form through services.profile_update."""
    changes = {}
    for name in profile_form.changed_data:
        if name in PROFILE_SERVICE_FIELDS:
            changes[name] = profile_form.cleaned_data[name]
        elif name == "interests":
            changes["interests"] = [interest.name for interest in profile_form.cleaned_data["interests"]]
    if changes:
        services.profile_update(user=profile_form.instance.user, **changes)
    return changes


# --- Confirmation page for deactivation ---------------------------------------------------------

# Kept here so the admin is one file; it can move to
# templates/admin/accounts/user/deactivate_confirmation.html unchanged.


# --- Users ---------------------------------------------------------------------------------


class ProfileInline(admin.StackedInline):
    model = Profile
    form = ProfileForm
    can_delete = False
    extra = 0
    max_num = 1
    fields = ("display_name", "bio", "avatar_preview", "is_private", "followers_count", "following_count", "interests")
    readonly_fields = ("avatar_preview", "followers_count", "following_count")
    autocomplete_fields = ("interests",)

    @admin.display(description="avatar")
    def avatar_preview(self, profile):
        return avatar_img(profile)

    def has_add_permission(self, request, obj=None):
        return False  # every user gets exactly one profile, made with the account

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and may_edit_account(request, obj)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    inlines = [ProfileInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Contact", {"fields": ("email", "phone", "phone_verified")}),
        ("Status", {"fields": ("is_active", "last_active", "deactivated_at")}),
        ("Permissions", {"fields": PRIVILEGE_FIELDS}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
        ("Legal name (not shown anywhere)", {"classes": ("collapse",), "fields": ("first_name", "last_name")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_active", "deactivated_at", "last_login", "date_joined")
    list_display = (
        "username",
        "email",
        "display_name",
        "followers",
        "is_active",
        "is_staff",
        "date_joined",
        "last_active",
    )
    list_filter = ("is_active", "is_staff", "profile__is_private", "date_joined")
    search_fields = ("username", "email", "phone", "profile__display_name")
    list_select_related = ("profile",)
    ordering = ("username",)
    actions = ["deactivate_accounts", "remove_avatars"]

    @admin.display(description="display name", ordering="profile__display_name")
    def display_name(self, user):
        profile = getattr(user, "profile", None)
        return profile.display_name if profile else ""

    @admin.display(description="followers", ordering="profile__followers_count")
    def followers(self, user):
        profile = getattr(user, "profile", None)
        return profile.followers_count if profile else 0

    def get_urls(self):
        own = [
            path(
                "<path:object_id>/suspend/", self.admin_site.admin_view(self.suspend_view), name="accounts_user_suspend"
            ),
            path(
                "<path:object_id>/unsuspend/",
                self.admin_site.admin_view(self.unsuspend_view),
                name="accounts_user_unsuspend",
            ),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "suspended": suspension.is_suspended(user)}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def suspend_view(self, request, object_id):
        return self._moderate(request, object_id, suspend=True)

    def unsuspend_view(self, request, object_id):
        return self._moderate(request, object_id, suspend=False)

    def _moderate(self, request, object_id, *, suspend):
        """Suspend or unsuspend from the user's page, with a reason: accounts.services, audited by
        posts (ModerationAction) on account_suspended / account_unsuspended."""
        user = self.get_object(request, object_id)  # None for a malformed or unknown id
        if user is None:
            raise Http404("No such account.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        verb = "Suspend" if suspend else "Unsuspend"
        reason = (request.POST.get("reason") or "").strip()
        error = None
        if request.method == "POST":
            service = services.user_suspend if suspend else services.user_unsuspend
            try:
                service(user=user, moderator=request.user, reason=reason)
            except ServiceError as exc:
                error = exc.message
            else:
                self.log_change(request, user, f"{verb}ed: {reason}")
                self.message_user(request, f"{verb}ed {user.username}.", messages.SUCCESS)
                return redirect("admin:accounts_user_change", user.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} {user.username}?",
            "opts": self.model._meta,
            "original": user,
            "verb": verb,
            "suspend": suspend,
            "reason": reason,
            "error": error,
            "back": reverse("admin:accounts_user_change", args=[user.pk]),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/accounts/user/suspend.html", context)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser:
            fields += PRIVILEGE_FIELDS  # a moderator can't grant anyone (or themselves) privileges
        return fields

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and may_edit_account(request, obj)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            services.profile_ensure(user=obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Profile:
            return super().save_formset(request, form, formset, change)
        changed = []
        for profile_form in formset.forms:
            if profile_form.instance.pk and profile_form.has_changed():
                profile_update_from_form(profile_form)
                changed.append((profile_form.instance, profile_form.changed_data))
        # What construct_change_message reads after formset.save().
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], changed, []

    def delete_model(self, request, obj):
        services.user_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            self.delete_model(request, user)

    def _deactivation_targets(self, request, queryset):
        targets, skipped = [], []
        for user in queryset.order_by("username"):
            if user.pk == request.user.pk or user.deactivated_at or not may_edit_account(request, user):
                skipped.append(user)
            else:
                targets.append(user)
        return targets, skipped

    @admin.action(description="Deactivate and erase selected accounts", permissions=["change"])
    def deactivate_accounts(self, request, queryset):
        targets, skipped = self._deactivation_targets(request, queryset)
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Deactivate and erase accounts?",
                "opts": self.model._meta,
                "targets": targets,
                "skipped": skipped,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            request.current_app = self.admin_site.name
            return TemplateResponse(request, "admin/accounts/user/deactivate_confirmation.html", context)
        for user in targets:
            user = services.user_deactivate(user=user)
            self.log_change(request, user, "Deactivated and erased personal data.")
        if targets:
            count = len(targets)
            self.message_user(
                request,
                f"Deactivated {count} account{'s' if count != 1 else ''} and erased {'its' if count == 1 else 'their'} personal data.",
                messages.SUCCESS,
            )
        if skipped:
            names = ", ".join(user.username for user in skipped)
            self.message_user(request, f"Skipped: {names}.", messages.WARNING)
        return None

    @admin.action(description="Remove avatars of selected accounts", permissions=["change"])
    def remove_avatars(self, request, queryset):
        removed = 0
        for user in queryset.select_related("profile"):
            profile = getattr(user, "profile", None)
            if profile and profile.avatar and may_edit_account(request, user):
                services.avatar_remove(user=user)
                self.log_change(request, user, "Removed avatar.")
                removed += 1
        self.message_user(request, f"Removed {removed} avatar{'s' if removed != 1 else ''}.", messages.SUCCESS)


# --- Profiles and interests --------------------------------------------------------------------


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    form = ProfileForm
    list_display = ("user", "display_name", "avatar_thumbnail", "is_private", "followers_count", "following_count")
    list_filter = ("is_private",)
    search_fields = ("user__username", "user__email", "display_name", "bio")
    list_select_related = ("user",)
    ordering = ("user__username",)
    fields = (
        "user",
        "display_name",
        "bio",
        "avatar_preview",
        "is_private",
        "interests",
        "profile_info",
        "followers_count",
        "following_count",
        "updated_at",
    )
    readonly_fields = ("user", "avatar_preview", "followers_count", "following_count", "updated_at")
    autocomplete_fields = ("interests",)
    actions = ["remove_avatars"]

    @admin.display(description="avatar")
    def avatar_thumbnail(self, profile):
        return avatar_img(profile, size=32)

    @admin.display(description="avatar")
    def avatar_preview(self, profile):
        return avatar_img(profile, size=128)

    def has_add_permission(self, request):
        return False  # made with the account

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        # A profile goes with its account: deleting one means deleting the account,
        # which asks its own confirmation and permission.
        profile = self.get_object(request, object_id)
        if profile is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return redirect("admin:accounts_user_delete", profile.user_id)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and may_edit_account(
            request, obj.user if obj is not None else None
        )

    def save_model(self, request, obj, form, change):
        profile_update_from_form(form)

    def save_related(self, request, form, formsets, change):
        pass  # interests were set by profile_update

    @admin.action(description="Remove avatars of selected profiles", permissions=["change"])
    def remove_avatars(self, request, queryset):
        removed = 0
        for profile in queryset.select_related("user"):
            if profile.avatar and may_edit_account(request, profile.user):
                services.avatar_remove(user=profile.user)
                self.log_change(request, profile, "Removed avatar.")
                removed += 1
        self.message_user(request, f"Removed {removed} avatar{'s' if removed != 1 else ''}.", messages.SUCCESS)


class InterestForm(forms.ModelForm):
    class Meta:
        model = Interest
        fields = ("name",)

    def clean_name(self):
        # The same normal form services._set_interests uses, so names don't split in two.
        name = " ".join(self.cleaned_data["name"].split()).lower()
        if Interest.objects.filter(name=name).exclude(pk=self.instance.pk).exists():
            raise ValidationError("This interest already exists.", code="unique")
        return name


@admin.register(Interest)
class InterestAdmin(admin.ModelAdmin):
    form = InterestForm
    list_display = ("name", "profile_count")
    search_fields = ("name",)
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(profile_count=Count("profiles"))

    @admin.display(description="profiles", ordering="profile_count")
    def profile_count(self, interest):
        return interest.profile_count


# --- The follow graph: read-mostly, deletions through services ------------------------------------


class GraphAdmin(admin.ModelAdmin):
    """Rows with counters or rules attached: view, search, and delete through a service."""

    list_per_page = 50
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Follow)
class FollowAdmin(GraphAdmin):
    list_display = ("follower", "followed", "created_at")
    search_fields = ("follower__username", "followed__username")
    list_select_related = ("follower", "followed")
    autocomplete_fields = ("follower", "followed")
    readonly_fields = ("follower", "followed", "created_at")

    def delete_model(self, request, obj):
        services.follow_delete(follower=obj.follower, followed_user_id=obj.followed_id)


@admin.register(FollowRequest)
class FollowRequestAdmin(GraphAdmin):
    list_display = ("requester", "target", "created_at")
    search_fields = ("requester__username", "target__username")
    list_select_related = ("requester", "target")
    autocomplete_fields = ("requester", "target")
    readonly_fields = ("requester", "target", "created_at")

    def delete_model(self, request, obj):
        services.follow_request_reject(target=obj.target, request_id=obj.pk)


@admin.register(Block)
class BlockAdmin(GraphAdmin):
    list_display = ("blocker", "blocked", "created_at")
    search_fields = ("blocker__username", "blocked__username")
    list_select_related = ("blocker", "blocked")
    autocomplete_fields = ("blocker", "blocked")
    readonly_fields = ("blocker", "blocked", "created_at")

    def delete_model(self, request, obj):
        services.block_delete(blocker=obj.blocker, blocked_user_id=obj.blocked_id)


@admin.register(Mute)
class MuteAdmin(GraphAdmin):
    list_display = ("muter", "muted", "created_at")
    search_fields = ("muter__username", "muted__username")
    list_select_related = ("muter", "muted")
    autocomplete_fields = ("muter", "muted")
    readonly_fields = ("muter", "muted", "created_at")

    def delete_model(self, request, obj):
        services.mute_delete(muter=obj.muter, muted_user_id=obj.muted_id)
