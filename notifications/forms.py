"""The notification settings form: one checkbox per type (notifications.services.preferences_update)."""

from django import forms

from notifications.models import Notification, Preferences

Type = Notification.Type

# What each checkbox says: the event, from the reader's side.
LABELS = {
    Type.FOLLOW: "Someone follows you",
    Type.FOLLOW_REQUEST: "Someone asks to follow you",
    Type.FOLLOW_ACCEPTED: "Someone accepts your follow request",
    Type.LIKE: "Someone likes your post",
    Type.COMMENT: "Someone comments on your post",
    Type.REPLY: "Someone replies to your comment",
    Type.MENTION: "Someone mentions you",
    Type.SHARE: "Someone shares your post",
    Type.MESSAGE: "Someone sends you a message",
    Type.NEW_POST: "An account whose bell you turned on posts",
    Type.POST_FAILED: "A post of yours can't be published (its photo or video failed)",
}


class PreferencesForm(forms.Form):
    """An unchecked box turns its type off: a browser leaves unchecked boxes out of the POST."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in Preferences.kinds():
            self.fields[kind] = forms.BooleanField(label=LABELS[kind], required=False)

    def changes(self):
        """{type: bool} for every type, as services.preferences_update takes it."""
        return {kind: bool(self.cleaned_data.get(kind)) for kind in Preferences.kinds()}
