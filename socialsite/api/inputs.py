"""The base of every API input serializer: JSON types as the schema says them.

DRF turns 5 into "5" for a text field and "yes" into true for a boolean; a client that sends the
wrong type has a bug it should hear about, and the OpenAPI schema promises a string or a boolean.
"""

from collections.abc import Mapping

from rest_framework import serializers

# Field class → the JSON types it takes (bool is an int in Python: refused where a number is meant).
_TYPES = (
    (serializers.BooleanField, (bool,)),
    (serializers.CharField, (str,)),
    (serializers.ChoiceField, (str,)),
    (serializers.UUIDField, (str,)),
    (serializers.IntegerField, (int,)),
    (serializers.FloatField, (int, float)),
    (serializers.ListField, (list,)),
    (serializers.DictField, (dict,)),
)
_NAMES = {
    bool: "true or false",
    str: "a string",
    int: "a whole number",
    float: "a number",
    list: "a list",
    dict: "an object",
}


def _wrong_type(field, value):
    """What `value` should have been for `field`, or None when it is the right JSON type."""
    if value is None:
        return None  # allow_null decides
    for kind, types in _TYPES:
        if isinstance(field, kind):
            if isinstance(value, bool) and bool not in types:
                return _NAMES[types[0]]
            if not isinstance(value, types):
                return _NAMES[types[0]]
            if isinstance(field, serializers.ListField) and field.child is not None:
                return next(
                    (
                        f"a list in which each item is {problem}"
                        for item in value
                        if (problem := _wrong_type(field.child, item))
                    ),
                    None,
                )
            return None
    return None


class Input(serializers.Serializer):
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            wrong = {
                name: [f"Must be {problem}."]
                for name, field in self.fields.items()
                if not field.read_only and name in data and (problem := _wrong_type(field, data[name]))
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)
