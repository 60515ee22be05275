"""The embedded default's timeline store (feeds.store.MemoryStore): what the restore drill and
`repair` ask of every store, flush and size, on the in-process one."""

from feeds.store import Entry, MemoryStore, home_key


def test_flush_forgets_every_timeline_which_then_reads_as_missing():
    store = MemoryStore()
    store.replace(home_key(1), [Entry(2, "b"), Entry(1, "a")], cap=10)
    store.replace(home_key(2), [], cap=10)
    assert store.size(home_key(1)) == 2 and store.exists(home_key(2))  # built, if empty
    assert store.memory_usage(home_key(1)) is None  # not measured in process

    store.flush()

    assert not store.exists(home_key(1)) and not store.exists(home_key(2))
    assert store.range_many([home_key(1)], count=10) == [None]  # missing: the next read rebuilds it
