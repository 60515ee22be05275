"""Web forms for posts and comments. They only shape input; services own the rules."""

from django import forms

from posts import text
from posts.models import Post
from posts.services import FILTERS

FILTER_CHOICES = [("", "None"), *((name, name.capitalize()) for name in FILTERS)]
VISIBILITY_CHOICES = [
    (Post.Visibility.PUBLIC, "Public"),
    (Post.Visibility.FOLLOWERS, "Followers only"),
    (Post.Visibility.MENTIONED, "Only people tagged"),
]


def _content_field(limit, label, rows=4, required=False):
    return forms.CharField(
        label=label,
        required=required,
        max_length=limit,
        strip=False,
        widget=forms.Textarea(attrs={"rows": rows, "maxlength": limit, "data-counter": ""}),
    )


def _spoiler_field():
    return forms.CharField(
        label="Content warning (optional)",
        required=False,
        max_length=text.SPOILER_MAX_CHARS,
        help_text="Shown instead of your post until someone chooses to open it.",
    )


class PostForm(forms.Form):
    content = _content_field(text.POST_MAX_CHARS, "Text or caption", rows=5)
    spoiler_text = _spoiler_field()
    visibility = forms.ChoiceField(label="Who can see it", choices=VISIBILITY_CHOICES, initial="public")
    filter = forms.ChoiceField(
        label="Photo filter",
        choices=FILTER_CHOICES,
        initial="",
        required=False,
        widget=forms.RadioSelect,
        help_text="Applied to the photos when they are processed.",
    )
    tagged = forms.CharField(
        label="Tag people",
        required=False,
        max_length=1000,
        help_text="Usernames, comma separated.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-people-search": ""}),
    )
    content_type = forms.ChoiceField(
        choices=[(Post.ContentType.TEXT, "text"), (Post.ContentType.IMAGE, "image"), (Post.ContentType.VIDEO, "video")],
        initial=Post.ContentType.TEXT,
        required=False,
        widget=forms.HiddenInput,
    )

    def clean_tagged(self):
        names = []
        for name in self.cleaned_data["tagged"].split(","):
            name = name.strip().lstrip("@").strip()
            if name and name.lower() not in {n.lower() for n in names}:
                names.append(name)
        return names

    def clean_content_type(self):
        return self.cleaned_data["content_type"] or Post.ContentType.TEXT


class PostEditForm(forms.Form):
    content = _content_field(text.POST_MAX_CHARS, "Text or caption", rows=5)
    spoiler_text = _spoiler_field()
    visibility = forms.ChoiceField(label="Who can see it", choices=VISIBILITY_CHOICES)


class QuoteForm(forms.Form):
    content = _content_field(text.POST_MAX_CHARS, "Add your thoughts", rows=3, required=True)


class CommentForm(forms.Form):
    content = _content_field(text.COMMENT_MAX_CHARS, "Comment", rows=3, required=True)
    parent = forms.UUIDField(required=False, widget=forms.HiddenInput)
