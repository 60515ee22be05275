"""Thin tasks: take ids, re-read, call search code; safe to retry."""

from typing import Any

from celery import shared_task

RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 8,
    "acks_late": True,
}


@shared_task(**RETRY)
def compute_trends():
    from search import trends

    trends.compute()


@shared_task(**RETRY)
def index_post(post_id):
    from search.backends import backend

    backend().index_post(post_id)


@shared_task(**RETRY)
def remove_post(post_id):
    from search.backends import backend

    backend().remove_post(post_id)


@shared_task(**RETRY)
def index_user(user_id):
    from search.backends import backend

    backend().index_user(user_id)
