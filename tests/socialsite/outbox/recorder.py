"""Celery tasks of the tests' own, for the outbox tests: one records its calls, one always fails."""

from socialsite.celery import app

CALLS = []


@app.task(name="tests.outbox.record")
def record(value):
    CALLS.append(value)


@app.task(name="tests.outbox.boom")
def boom(value):
    raise RuntimeError(f"boom {value}")
