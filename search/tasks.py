"""Thin tasks: take ids, re-read, call search code; safe to retry."""

from typing import Any

from celery import shared_task

from socialsite.breakers import CircuitBreakerError, retry_later

RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    # Elasticsearch's breaker open: socialsite.breakers.retry_later, not one of the retries below.
    "dont_autoretry_for": (CircuitBreakerError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 8,
    "acks_late": True,
}


@shared_task(**RETRY)
def compute_trends():
    from search import trends

    trends.compute()


@shared_task(bind=True, **RETRY)
def index_post(self, post_id):
    from search.backends import backend

    try:
        backend().index_post(post_id)
    except CircuitBreakerError as exc:
        retry_later(self, "elasticsearch", exc)


@shared_task(bind=True, **RETRY)
def remove_post(self, post_id):
    from search.backends import backend

    try:
        backend().remove_post(post_id)
    except CircuitBreakerError as exc:
        retry_later(self, "elasticsearch", exc)


@shared_task(bind=True, **RETRY)
def index_user(self, user_id):
    from search.backends import backend

    try:
        backend().index_user(user_id)
    except CircuitBreakerError as exc:
        retry_later(self, "elasticsearch", exc)
