from django.urls import reverse
from rest_framework import serializers

from accounts.api.serializers import UserSummaryOutput


class SearchUserOutput(UserSummaryOutput):
    followers_count = serializers.IntegerField(source="profile.followers_count")
    followed_by_me = serializers.BooleanField(default=False, help_text="Whether you follow them; false when anonymous.")


class HashtagOutput(serializers.Serializer):
    name = serializers.CharField()
    posts_count = serializers.IntegerField(help_text="Public posts with it.")
    url = serializers.SerializerMethodField(help_text="Its page.")

    def get_url(self, hashtag) -> str:
        return reverse("hashtag", args=[hashtag.name])


class SearchPageOutput(serializers.Serializer):
    results = serializers.ListField(
        child=serializers.DictField(), help_text="Posts (as GET /posts/{id}), users or hashtags, per `type`."
    )
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class AutocompleteOutput(serializers.Serializer):
    results = serializers.ListField(child=serializers.DictField())
