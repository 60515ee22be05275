"""Path converters the API's apps share, registered when the root URLconf imports this module,
before any app's urls: `<userref:user_id>` is a user's id or "me" for the caller."""

from django.urls import register_converter


class UserRefConverter:
    regex = "(?:me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"

    def to_python(self, value):
        return value.lower()

    def to_url(self, value):
        return str(value)


register_converter(UserRefConverter, "userref")
