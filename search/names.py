"""The names @mention autocomplete matches (search.models.CompletionName), for the database backends."""

import itertools

from django.db import connections

NAMES_PER_USER = 5
BATCH = 2000


def completion_names(username, display_name):
    """The username, the display name and its later words ("lo" finds "Marta Lopez"), lower-cased."""
    display_name = " ".join((display_name or "").split()).lower()
    names = [username.lower(), display_name, *display_name.split(" ")[1:]]
    return list(dict.fromkeys(name[:50] for name in names if name))[:NAMES_PER_USER]


def fill(model, users, using="default"):
    """Insert the names of `users`, a queryset of active accounts, in batches. -> rows written.
    `model` is CompletionName, or its historical version in a migration."""
    people = users.values_list("pk", "username", "profile__display_name", "profile__followers_count")
    rows = (
        model(user_id=pk, name=name, followers_count=followers or 0)
        for pk, username, display_name, followers in people.iterator(chunk_size=BATCH)
        for name in completion_names(username, display_name)
    )
    written = 0
    while batch := list(itertools.islice(rows, BATCH)):
        model.objects.using(using).bulk_create(batch)
        written += len(batch)
    connection = connections[using]
    if connection.vendor == "postgresql":
        # Fresh statistics now, not at autovacuum's leisure: without them PostgreSQL guessed that
        # a rare prefix matches thousands and walked the whole follower-count index (300 ms).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return written
