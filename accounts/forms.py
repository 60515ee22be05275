from django import forms

from accounts.models import Profile


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=Profile._meta.get_field("display_name").max_length, required=False)
    bio = forms.CharField(
        max_length=Profile._meta.get_field("bio").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    interests = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Comma separated, e.g. photography, hiking, jazz.",
    )
    is_private = forms.BooleanField(
        required=False,
        label="Private account",
        help_text="New followers need your approval.",
    )
    # A plain FileField: services.avatar_set decodes and checks the image and owns the error messages.
    avatar = forms.FileField(
        required=False,
        label="New photo",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
        help_text="JPEG, PNG, WebP or GIF. It is cropped to a square.",
    )
    remove_avatar = forms.BooleanField(required=False, label="Remove current photo")

    @classmethod
    def initial_for(cls, profile):
        return {
            "display_name": profile.display_name,
            "bio": profile.bio,
            "interests": ", ".join(interest.name for interest in profile.interests.all()),
            "is_private": profile.is_private,
        }

    def clean_interests(self):
        return [name.strip() for name in self.cleaned_data["interests"].split(",") if name.strip()]


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            # Accounts made through a social provider have no password; they confirm with their username.
            self.fields["password"] = forms.CharField(label=f"Type your username ({user.username}) to confirm")

    def clean_password(self):
        value = self.cleaned_data["password"]
        if self.user.has_usable_password():
            if not self.user.check_password(value):
                raise forms.ValidationError("That password is not correct.")
        elif value.strip().lower() != self.user.username.lower():
            raise forms.ValidationError("That is not your username.")
        return value
