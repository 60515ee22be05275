"""Web forms for direct messages. They only shape input; messaging.services owns the rules
(empty or too long messages, blocks, group sizes), and its errors are shown on the form."""

import uuid

from django import forms
from django.conf import settings

from messaging.models import Preferences

USERNAMES_MAX_CHARS = 2000


def _content_field(label="Message", rows=2):
    # Not required and no max_length here: the service says what is wrong, the same words the
    # API and the socket use. The browser still stops typing at the limit.
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": rows, "maxlength": settings.MESSAGE_MAX_LENGTH, "autocomplete": "off"}),
    )


def new_client_id():
    """A fresh id for one send: a double-clicked or retried form posts the same message once."""
    return f"web-{uuid.uuid4().hex}"


class MessageForm(forms.Form):
    content = _content_field()
    client_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    # Set by chat.js when the viewer picks Reply on a message.
    reply_to = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-chat-reply-to": ""})
    )


class ReactForm(forms.Form):
    emoji = forms.CharField(max_length=16)
    on = forms.BooleanField(required=False)


class MessageEditForm(forms.Form):
    content = _content_field(label="Edit message", rows=3)


def _split_usernames(value):
    names = []
    for name in value.replace(",", " ").split():
        name = name.strip().lstrip("@")
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names


class UsernamesField(forms.CharField):
    """ "ana, @bo cy" -> ["ana", "bo", "cy"] (commas or spaces, @ optional, duplicates dropped)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", USERNAMES_MAX_CHARS)
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}))
        super().__init__(**kwargs)

    def clean(self, value):
        return _split_usernames(super().clean(value))


class NewMessageForm(forms.Form):
    to = forms.CharField(
        label="To",
        max_length=150,
        help_text="Their username.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    content = _content_field(rows=4)
    client_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def clean_to(self):
        return self.cleaned_data["to"].strip().lstrip("@")


class NewGroupForm(forms.Form):
    title = forms.CharField(label="Group name", required=False, max_length=100, help_text="Optional.")
    members = UsernamesField(label="Members", help_text="Usernames, separated by commas or spaces.")


class RenameForm(forms.Form):
    title = forms.CharField(label="Group name", required=False, max_length=100)


class AddMembersForm(forms.Form):
    members = UsernamesField(label="Add people", help_text="Usernames, separated by commas or spaces.")


class PreferencesForm(forms.Form):
    direct_from = forms.ChoiceField(
        label="Who can message you",
        choices=[
            (Preferences.DirectFrom.EVERYONE, "Everyone"),
            (Preferences.DirectFrom.FOLLOWING, "Only people I follow"),
        ],
        widget=forms.RadioSelect,
        help_text="With “Only people I follow”, new conversations from anyone else wait in your message "
        "requests until you accept or reply.",
    )
