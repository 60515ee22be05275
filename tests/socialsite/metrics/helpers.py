"""Reading a /metrics page in tests."""

from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families


def samples(text):
    """{sample name: [(labels, value)]} of an exposition page."""
    found = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name].append((sample.labels, sample.value))
    return found


def total(page, name, **labels):
    """The sum of `name`'s samples whose labels include these."""
    return sum(value for found, value in page.get(name, []) if all(found.get(k) == v for k, v in labels.items()))
