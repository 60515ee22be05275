"""`manage.py load_http --url http://127.0.0.1:8000 --url http://127.0.0.1:8001`: a small load over
HTTP, as clients make it, for watching /metrics move (docs/operations.md "Metrics").

Each round signs up two people (the API's register and JWT log-in, plus one wrong password), has
one follow the other, posts, likes, sends a message each way and reads both home feeds, taking
the given base URLs in turn. It prints what it did, so the counters can be compared with it.
Only HTTP: it works against any running shape (`make run`, `make serve`, several Daphnes). Each
round makes two sign-ups: raise THROTTLE_SIGNUP (5 per 30 minutes per address) on the site first.
"""

import itertools
import uuid
from collections import Counter

import requests
from django.core.management.base import BaseCommand, CommandError

PASSWORD = "Load-Horse-8841-battery"  # noqa: S105 -- the accounts it makes, on a test site


class Command(BaseCommand):
    help = "Drive a small load over HTTP (sign-ups, log-ins, posts, likes, messages, feed reads)."

    def add_arguments(self, parser):
        parser.add_argument("--url", action="append", help="a web process's base URL; repeat for several")
        parser.add_argument("--rounds", type=int, default=5)

    def handle(self, *args, **options):
        urls = itertools.cycle(options["url"] or ["http://127.0.0.1:8000"])
        done = Counter()
        session = requests.Session()

        def call(what, method, path, token=None, expect=(200, 201), **kwargs):
            url = next(urls)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = session.request(method, f"{url}/api/v1{path}", headers=headers, timeout=30, **kwargs)
            if response.status_code not in expect:
                raise CommandError(f"{method} {url}{path}: {response.status_code} {response.text[:300]}")
            done[f"{what} ({response.status_code})"] += 1
            return response.json() if response.content else None

        def person():
            name = f"load{uuid.uuid4().hex[:10]}"
            body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
            user_id = call("sign-ups", "POST", "/auth/register", json=body)["id"]
            wrong = {"username": name, "password": "x" + PASSWORD}
            call("log-ins", "POST", "/auth/jwt/login", json=wrong, expect=(401,))
            token = call("log-ins", "POST", "/auth/jwt/login", json={"username": name, "password": PASSWORD})[
                "access_token"
            ]
            return user_id, token

        for _ in range(options["rounds"]):
            (ana, ana_token), (bo, bo_token) = person(), person()
            call("follows", "POST", "/users/me/follows", bo_token, json={"followed_user_id": ana})
            post = call("posts", "POST", "/posts", ana_token, json={"content": "load"})
            call("likes", "POST", f"/posts/{post['id']}/likes", bo_token)
            call("messages", "POST", "/messages", ana_token, json={"receiver_id": bo, "content": "hello"})
            call("messages", "POST", "/messages", bo_token, json={"receiver_id": ana, "content": "hi"})
            call("feed reads", "GET", "/feed", ana_token)
            call("feed reads", "GET", "/feed", bo_token)
        for what, count in sorted(done.items()):
            self.stdout.write(f"{count:6d}  {what}")
