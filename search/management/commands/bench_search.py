"""Benchmark search: `python manage.py bench_search [--users 100000] [--posts 1000000] [--queries 300] [--reset]`.

Needs PostgreSQL (DATABASE_URL): the targets are for its full-text and trigram indexes. Use a
database of its own; the data stay there between runs, so later runs skip the build.

1. Data (COPY, built once; `--reset` deletes a previous run's first, then compacts the tables
   with VACUUM FULL): `--users` users named
   `benchsearch_*` with pronounceable usernames and display names (5% private), and `--posts`
   published posts whose words follow Zipf's law over a 30,000-word vocabulary (the 100 most
   frequent are English stop words), 90% public, 7% followers-only, 3% mentioned-only, 1%
   deleted, a third with one or two of 5,000 hashtags, spread over the last 30 days and inserted
   oldest first, as a live table grows.
   Then VACUUM ANALYZE. Nothing is random but the ids: the generator is seeded.
2. Post search: `--queries` searches through `search.selectors.search` (the backend's query, then
   the page of 20 loaded through `visible_to` with its payload prefetches: what the API does
   before serializing), taking turns as an anonymous visitor and as a user who follows 300
   accounts. The queries mix one frequent word (about 0.7% of posts), two mid-frequency words,
   a rare word, a two-word phrase taken from a real post, and a mid word with an author or a
   date filter.
3. User autocomplete: `--queries` prefixes of 1 to 4 letters of real usernames through
   `search.selectors.complete(viewer, "user", …)`, 8 results each, as the compose box asks.
   Also measured, without a target: people search with one letter dropped (typos), and hashtag
   autocomplete.

Each query runs once untimed first (a warm cache, as on a live server), then timed. Percentiles
are nearest-rank, as in the other benchmarks.

`--compare-visible-cache` runs, instead of 2 and 3, the post lists that go through
`Post.objects.visible_to(viewer)` three ways, interleaved call by call (each round alternates the
order): with its per-viewer cache warm (as a process serving the same viewers again), with the
cache emptied before each call (a viewer's first request in this process: the first call builds,
the others in the same call copy), and with no cache at all (`PostManager.visible_to` building the
queryset every time). Timed: post search as in 2; a profile's posts (`user_posts_queryset`, page
of 20: the profile page and `GET /users/{id}/posts`); a hashtag's posts (`hashtag_posts_queryset`,
page of 20); and `Post.objects.visible_to(viewer)` alone.
"""

import contextlib
import gc
import itertools
import os
import random
import time
import uuid
from datetime import timedelta
from unittest import mock

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.benchmarks import UNUSABLE_PASSWORD, insert_accounts
from accounts.models import Follow, Profile, User
from posts import models as post_models
from posts import selectors as post_selectors
from posts.models import Hashtag, Post, PostManager
from search import query, selectors
from search.models import CompletionName
from search.names import fill as fill_completion_names
from socialsite.benchmarks import (
    BenchmarkCommand,
    copy_rows,
    machine_line,
    mark,
    pct_ms,
    percentile,
)

PREFIX = "benchsearch_"
TABLES = (  # what the bench writes
    "accounts_user",
    "accounts_profile",
    "accounts_follow",
    "posts_post",
    "posts_post_hashtags",
    "posts_hashtag",
    "search_completionname",
)
MARKER = "benchsearch"  # every bench user's first_name: their usernames are plain words
TAG_PREFIX = "bsq"
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "ee")]
STOP_WORDS = [
    "the",
    "be",
    "to",
    "of",
    "and",
    "a",
    "in",
    "that",
    "have",
    "i",
    "it",
    "for",
    "not",
    "on",
    "with",
    "he",
    "as",
    "you",
    "do",
    "at",
    "this",
    "but",
    "his",
    "by",
    "from",
    "they",
    "we",
    "say",
    "her",
    "she",
    "or",
    "an",
    "will",
    "my",
    "one",
    "all",
    "would",
    "there",
    "their",
    "what",
    "so",
    "up",
    "out",
    "if",
    "about",
    "who",
    "get",
    "which",
    "go",
    "me",
    "when",
    "make",
    "can",
    "like",
    "time",
    "no",
    "just",
    "him",
    "know",
    "take",
    "people",
    "into",
    "year",
    "your",
    "good",
    "some",
    "could",
    "them",
    "see",
    "other",
    "than",
    "then",
    "now",
    "look",
    "only",
    "come",
    "its",
    "over",
    "think",
    "also",
    "back",
    "after",
    "use",
    "two",
    "how",
    "our",
    "work",
    "first",
    "well",
    "way",
    "even",
    "new",
    "want",
    "because",
    "any",
    "these",
    "give",
    "day",
    "most",
    "us",
]
FIRST_NAMES = "ana bo cy dana eli femi gus hana ivo jun kai lea mo nia oto pia quin rae sol tia uma vic wen xia yui zoe"
LAST_NAMES = "silva ng okafor berg rossi kim moreau patel haddad novak sato lopez ivanova smith dubois weber"


def _words(rng, count):
    """`count` distinct pronounceable lower-case words."""
    seen, words = set(STOP_WORDS), []
    while len(words) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Command(BenchmarkCommand):
    help = "Search latency on PostgreSQL: post search and user autocomplete p50/p99 at 100k users, 1M posts."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=100_000)
        parser.add_argument("--posts", type=int, default=1_000_000)
        parser.add_argument("--queries", type=int, default=300, help="Timed queries per kind.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--reset", action="store_true", help="Delete a previous run's data and build anew.")
        parser.add_argument(
            "--compare-visible-cache",
            action="store_true",
            help="Instead of the usual table: post lists with Post.objects.visible_to cached, cold and uncached.",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_search needs PostgreSQL: set DATABASE_URL=postgres://… (its targets are for it).")
        if min(options["users"], options["posts"], options["queries"]) < 1:
            raise CommandError("--users, --posts and --queries must be at least 1.")
        rng = random.Random(options["seed"])  # noqa: S311 -- reproducible data, not secrets
        bench = User.objects.filter(first_name=MARKER)
        if options["reset"]:
            self.step("deleting previous bench_search data")
            self.reset()
            self.done()
        if not bench.exists():
            self.step(f"building {options['users']:,} users and {options['posts']:,} posts (COPY)")
            self.build(rng, options)
            self.done()
        elif bench.count() != options["users"] + 1:
            raise CommandError("bench_search data of another size exist; run with --reset.")
        load_before = os.getloadavg()
        vocabulary, usernames, viewer, authors = self.sample(rng)
        cases = self.cases(rng, vocabulary, usernames, viewer, authors, options["queries"])
        # As socialsite/asgi.py does after start-up: what exists now lives to the end, so the
        # collector's full passes skip it (they walked the samples and cases for ~80 ms).
        gc.collect()
        gc.freeze()
        if options["compare_visible_cache"]:
            self.compare_visible_cache(rng, cases["post search"], viewer, authors, options, load_before)
            return
        results = {name: self.run(name, runs) for name, runs in cases.items()}
        load_after = os.getloadavg()
        self.report(results, options, load_before, load_after)

    # --- Data ------------------------------------------------------------------------------------

    def reset(self):
        bench = User.objects.filter(first_name=MARKER).values("pk")
        alias = connection.alias
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM posts_post_hashtags WHERE post_id IN (SELECT id FROM posts_post WHERE author_id IN "
                "(SELECT id FROM accounts_user WHERE first_name = %s))",
                [MARKER],
            )
        Post.objects.filter(author__in=bench)._raw_delete(alias)
        Hashtag.objects.filter(name__startswith=TAG_PREFIX, posts__isnull=True)._raw_delete(alias)
        Follow.objects.filter(follower__in=bench)._raw_delete(alias)
        CompletionName.objects.filter(user__in=bench)._raw_delete(alias)
        Profile.objects.filter(user__in=bench)._raw_delete(alias)
        User.objects.filter(first_name=MARKER)._raw_delete(alias)
        # The new rows would interleave with the dead ones in every index (both span the last 30
        # days), leaving the tables and their indexes half empty: a state no live table is in.
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"VACUUM FULL {table}")  # noqa: S608 -- fixed names

    def build(self, rng, options):
        now = timezone.now()
        vocabulary = STOP_WORDS + _words(rng, 30_000 - len(STOP_WORDS))
        weights = list(itertools.accumulate(1 / rank for rank in range(1, len(vocabulary) + 1)))
        tags = [f"{TAG_PREFIX}{word}" for word in _words(rng, 5_000)]
        tag_weights = list(itertools.accumulate(1 / rank for rank in range(1, len(tags) + 1)))
        firsts, lasts = FIRST_NAMES.split(), LAST_NAMES.split()

        ids = [uuid.uuid4() for _ in range(options["users"] + 1)]  # the last one is the signed-in viewer
        names, taken = [], set()
        for n in range(len(ids)):
            name = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 4))))
            name = name if name not in taken else f"{name}{n}"
            taken.add(name)
            names.append(name)
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        insert_accounts(
            (
                (pk, UNUSABLE_PASSWORD, None, False, f"{PREFIX}viewer" if n == len(ids) - 1 else name[:30], MARKER,
                 "", None, False, True, now - timedelta(days=n % 900), None, False, now, None)
                for n, (pk, name) in enumerate(zip(ids, names, strict=True))
            ),
            (
                (pk, f"{rng.choice(firsts).title()} {rng.choice(lasts).title()}", "", "", {}, n % 20 == 0,
                 int(10_000 / (n + 1)), 0, now)
                for n, pk in enumerate(ids)
            ),
        )  # fmt: skip
        viewer = ids[-1]
        copy_rows(Follow, ["follower", "followed", "created_at"], ((viewer, pk, now) for pk in ids[:-1][:300]))
        # What the index_user task writes after each sign-up (search.names).
        fill_completion_names(CompletionName, User.objects.filter(first_name=MARKER))

        Hashtag.objects.bulk_create([Hashtag(name=tag) for tag in tags], batch_size=2000)
        hashtag_ids = dict(Hashtag.objects.filter(name__in=tags).values_list("name", "pk"))
        authors = ids[:-1]
        visibilities = ["public"] * 90 + ["followers"] * 7 + ["mentioned"] * 3
        post_tags = []

        def posts():
            for n in range(options["posts"]):
                words = rng.choices(vocabulary, cum_weights=weights, k=rng.randint(6, 30))
                if n % 3 == 0:
                    chosen = set(rng.choices(tags, cum_weights=tag_weights, k=rng.choice((1, 2))))
                    words += [f"#{tag}" for tag in chosen]
                    pk = uuid.uuid4()
                    post_tags.extend((pk, hashtag_ids[tag]) for tag in chosen)
                else:
                    pk = uuid.uuid4()
                text = " ".join(words)
                # Oldest first, as a live table grows: rows of the same hour share pages.
                when = now - timedelta(seconds=(options["posts"] - n) * 30 * 86400 / options["posts"])
                yield (pk, rng.choice(authors), "text", text, f"<p>{text}</p>", rng.choice(visibilities), "published",
                       "", "", {}, 0, 0, 0, False, when, when, when, when if n % 100 == 0 else None, None)  # fmt: skip

        copy_rows(
            Post,
            [
                "id", "author", "content_type", "content", "content_html", "visibility", "status", "filter",
                "link_url", "link_preview", "likes_count", "comments_count", "shares_count", "edited",
                "created_at", "updated_at", "published_at", "deleted_at", "hidden_at",
            ],
            posts(),
        )  # fmt: skip
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy("COPY posts_post_hashtags (post_id, hashtag_id) FROM STDIN") as copy,
        ):
            for row in post_tags:
                copy.write_row(row)
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")  # noqa: S608 -- fixed names

    def sample(self, rng):
        """What the queries are made of: words by frequency, usernames, the viewer, some authors."""
        viewer = User.objects.get(username=f"{PREFIX}viewer")
        texts = list(
            Post.objects.filter(deleted_at__isnull=True, visibility="public")
            .order_by("?")
            .values_list("content", flat=True)[:2000]
        )
        counts = {}
        for text in texts:
            for word in set(text.split()):
                if not word.startswith("#") and word not in STOP_WORDS:
                    counts[word] = counts.get(word, 0) + 1
        vocabulary = sorted(counts, key=lambda word: -counts[word])
        usernames = list(
            User.objects.filter(first_name=MARKER)
            .exclude(pk=viewer.pk)
            .order_by("?")
            .values_list("username", flat=True)[:2000]
        )
        authors = list(
            User.objects.filter(first_name=MARKER).exclude(pk=viewer.pk).values_list("username", flat=True)[:300]
        )
        return {"ranked": vocabulary, "texts": texts}, usernames, viewer, authors

    def cases(self, rng, vocabulary, usernames, viewer, authors, count):
        from django.contrib.auth.models import AnonymousUser

        ranked, texts = vocabulary["ranked"], vocabulary["texts"]
        frequent, mid, rare = ranked[:20], ranked[150:600], ranked[-400:]
        anonymous = AnonymousUser()
        since = (timezone.now() - timedelta(days=7)).date().isoformat()

        def post_query(n):
            shape = n % 7
            if shape == 0:
                text, extra = rng.choice(frequent), {}
            elif shape in (1, 2):
                text, extra = f"{rng.choice(mid)} {rng.choice(mid)}", {}
            elif shape == 3:
                text, extra = rng.choice(rare), {}
            elif shape == 4:
                words = [w for w in rng.choice(texts).split() if w not in STOP_WORDS and not w.startswith("#")]
                start = rng.randrange(max(1, len(words) - 1))
                text, extra = '"' + " ".join(words[start : start + 2]) + '"', {}
            elif shape == 5:
                text, extra = rng.choice(mid), {"author": rng.choice(authors)}
            else:
                text, extra = rng.choice(mid), {"since": since}
            who = viewer if n % 2 else anonymous
            return who, query.parse({"query": text, **extra}, who)

        def run_search(who, parsed):
            return lambda: selectors.search(who, parsed, offset=0, limit=20)[0]

        def complete(kind, who, prefix):
            return lambda: selectors.complete(who, kind, prefix, 8)

        def typo(name):
            cut = rng.randrange(len(name))
            return name[:cut] + name[cut + 1 :]

        cases = {"post search": [], "user autocomplete": [], "people search, a typo": [], "hashtag autocomplete": []}
        for n in range(count):
            cases["post search"].append(run_search(*post_query(n)))
            name = rng.choice(usernames)
            who = viewer if n % 2 else anonymous
            cases["user autocomplete"].append(complete("user", who, name[: rng.randint(1, 4)]))
            cases["hashtag autocomplete"].append(complete("hashtag", who, f"#{TAG_PREFIX}" + rng.choice(SYLLABLES)[:2]))
            parsed = query.parse({"query": typo(name), "type": "user"}, who)
            cases["people search, a typo"].append(run_search(who, parsed))
        return cases

    def run(self, name, runs):
        self.step(f"{name}: {len(runs):,} queries, each once untimed, then timed")
        for call in runs:
            call()
        samples, found = [], 0
        for call in runs:
            began = time.perf_counter()
            rows = call()
            samples.append(time.perf_counter() - began)
            found += len(rows)
        self.done()
        return samples, found / len(runs)

    # --- Post.objects.visible_to: its per-viewer cache, side by side ------------------------------

    def compare_visible_cache(self, rng, searches, viewer, authors, options, load_before):
        from django.contrib.auth.models import AnonymousUser

        count = options["queries"]
        anonymous = AnonymousUser()
        people = list(User.objects.filter(username__in=authors))
        tags = list(
            Hashtag.objects.filter(name__startswith=TAG_PREFIX).order_by("pk").values_list("name", flat=True)[:200]
        )

        def profile(who, person):
            return lambda: list(post_selectors.user_posts_queryset(viewer=who, user=person)[:20])

        def hashtag(who, name):
            return lambda: list(post_selectors.hashtag_posts_queryset(viewer=who, name=name)[:20])

        def bare(who):
            return lambda: Post.objects.visible_to(who)

        def who(n):
            return viewer if n % 2 else anonymous

        cases = {
            "post search (search.selectors.search)": searches,
            "a profile's posts, page of 20": [profile(who(n), rng.choice(people)) for n in range(count)],
            "a hashtag's posts, page of 20": [hashtag(who(n), rng.choice(tags)) for n in range(count)],
            "Post.objects.visible_to(viewer) alone": [bare(who(n)) for n in range(count)],
        }

        def uncached(manager, user):  # PostManager.visible_to as it would be without the cache
            return manager.get_queryset().visible_to(user)

        @contextlib.contextmanager
        def emptied():  # before the clock starts
            post_models._visible_posts.cache_clear()
            yield

        modes = {
            "cache warm (as is)": contextlib.nullcontext,
            "cache emptied first": emptied,
            "no cache": lambda: mock.patch.object(PostManager, "visible_to", uncached),
        }
        names = list(modes)
        samples = {(case, name): [] for case in cases for name in names}
        self.step(f"visible_to cache: {len(cases)} kinds × {count:,} calls × {len(names)} ways, interleaved")
        for timed in (False, True):  # each call once untimed in every way first
            for case, calls in cases.items():
                for number, call in enumerate(calls):
                    order = names[number % len(names) :] + names[: number % len(names)]
                    for name in order:
                        with modes[name]():
                            began = time.perf_counter()
                            call()
                            seconds = time.perf_counter() - began
                        if timed:
                            samples[case, name].append(seconds)
        self.done()
        self.say()
        self.say("Post.objects.visible_to per-viewer cache (bench_search --compare-visible-cache)")
        self.say(machine_line(load_before, os.getloadavg()))
        self.say(
            f"data: {options['users']:,} users, {options['posts']:,} posts; in process; {count:,} calls of each kind"
            " in each way, anonymous and signed in (following 300) by turns"
        )
        rows = [("p50 / p99", *names, "no cache vs warm, p50"), None]
        for case in cases:
            cells = [
                " / ".join(f"{percentile(samples[case, name], q) * 1000:.2f} ms" for q in (50, 99)) for name in names
            ]
            warm, cold = (percentile(samples[case, name], 50) for name in (names[0], names[-1]))
            rows.append((case, *cells, f"{(cold - warm) * 1000:+.2f} ms ({(cold - warm) / warm:+.0%})"))
        self.table(rows)

    def report(self, results, options, load_before, load_after):
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0].split()[0]
        targets = {"post search": 0.050, "user autocomplete": 0.020}
        self.say()
        self.say("Search benchmark (bench_search)")
        self.say(
            f"machine: {os.cpu_count()} cores; PostgreSQL {version} on this host; load average"
            f" {load_before[0]:.2f} before, {load_after[0]:.2f} after"
        )
        self.say(
            f"data: {options['users']:,} users, {options['posts']:,} posts ({Post.objects.count():,} in the database);"
            " in process, through search.selectors (backend query + the page loaded through visible_to)"
        )
        rows = [("query", "p50", "p99", "results (mean)", "target"), None]
        for name, (samples, found) in results.items():
            target = targets.get(name)
            verdict = f"p99 ≤ {target * 1000:.0f} ms: {mark(percentile(samples, 99) <= target)}" if target else ""
            rows.append((name, pct_ms(samples, 50), pct_ms(samples, 99), f"{found:.1f}", verdict))
        self.table(rows)
