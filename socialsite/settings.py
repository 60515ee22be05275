"""Settings for socialsite, read from the environment (django-environ).

With no environment set, the embedded default runs: SQLite, in-process cache and
channel layer, Celery tasks run in-process after commit, local media, console
email and SMS. Setting DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, AWS_*,
EMAIL_URL (see README) switches each concern to its real engine.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from kombu import Exchange, Queue

from socialsite.logs import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
DEBUG_ERROR_PAGES = env.bool("DEBUG_ERROR_PAGES", default=False)  # Django's technical 404/500 pages
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and DEBUG:
    from socialsite.secret_key import checkout_secret_key

    SECRET_KEY = checkout_secret_key(BASE_DIR / ".secret_key")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "socialsite.views.csrf_failure"  # JSON in the envelope under /api/
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.contrib.postgres",  # trigram lookups for search; unused on SQLite
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_htmx",
    "django_elasticsearch_dsl",  # search documents; used only with ELASTICSEARCH_URL
    "phonenumber_field",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.apple",
    "allauth.socialaccount.providers.facebook",
    "django_structlog",
    "socialsite",
    "accounts",
    "media",  # before posts: its sweepers run first, as when they were posts'
    "posts",
    "feeds",
    "messaging",
    "notifications",
    "search",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # times everything below; writes nothing
    "socialsite.middleware.PublishAfterResponseMiddleware",  # first that writes: it wraps every write
    "socialsite.middleware.OwnErrorPagesMiddleware",
    "socialsite.middleware.DependencyUnavailableMiddleware",  # a dependency down: 503 page, not 500
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.middleware.AuthenticationMiddleware",  # Django's, reading the user through the auth cache
    "django_structlog.middlewares.RequestMiddleware",  # after auth: request_id, user_id (socialsite.logs)
    "django.contrib.messages.middleware.MessageMiddleware",
    "socialsite.middleware.RefuseNulMiddleware",  # after auth and messages: its 400 page uses them
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.SuspendedSessionMiddleware",
    "accounts.middleware.LastActiveMiddleware",
    "socialsite.middleware.PrometheusAfterMiddleware",  # django-prometheus's: requests by view and status, latency
]

ROOT_URLCONF = "socialsite.urls"
WSGI_APPLICATION = "socialsite.wsgi.application"
ASGI_APPLICATION = "socialsite.asgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "notifications.context_processors.unread_notifications",
                "posts.context_processors.moderation_warnings",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DB_PREPARED_STATEMENTS = False  # set below: PostgreSQL without PgBouncer
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so end-to-end tests can share it with a Daphne process.
    DATABASES["default"]["TEST"] = {"NAME": env.str("SQLITE_TEST_DB", default=str(BASE_DIR / "test_db.sqlite3"))}
    # search.CompletionName's covering index lists INCLUDE columns for PostgreSQL; SQLite keeps
    # the index without them, which is all it needs (a warning on every command otherwise).
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
    # IMMEDIATE: a writing transaction waits for the lock at BEGIN (up to `timeout`) instead of
    # failing with "database is locked" when two requests write at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
else:
    # One pool per process (psycopg_pool, docs/operations.md "Database connections"): a request
    # or a task borrows a connection and returns it when it ends. Never persistent connections:
    # Daphne runs each request in a thread of its own, and each kept its connection (a leak).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # the pool checks a connection before lending it
    options = DATABASES["default"].setdefault("OPTIONS", {})
    if env.bool("DB_POOL", default=True):
        options["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
            # Then the request fails with a 503 (socialsite/api/errors.py) instead of hanging.
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        }
    if env.bool("DB_PGBOUNCER", default=False):
        # Transaction mode: a WITH HOLD cursor (.iterator()) outlives the transaction, the server
        # link doesn't; and PgBouncer refuses the `options` startup parameter, so jit=off is set
        # on the server side instead (docs/operations.md).
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    else:
        # posts.selectors.payload_row prepares its statement once per connection (planning it took
        # 0.9 ms, running it 0.2); PgBouncer's transaction mode can't keep prepared statements.
        DB_PREPARED_STATEMENTS = True
        # Short web queries: PostgreSQL's JIT costs more than it saves (bench_feed's pull-only feed
        # read spent 570 of its 800 ms compiling). Analytical work can SET jit = on for itself.
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
# Query counts and timings for /metrics: django-prometheus's subclasses of the same backends.
DATABASES["default"]["ENGINE"] = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Read replicas (socialsite/replicas.py, docs/operations.md "Read replicas"): each URL becomes an
# alias (replica_1, ...) with the primary's options and pool, except that a read waits for a replica
# connection at most REPLICA_POOL_TIMEOUT s before it goes to the primary instead.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
DATABASE_REPLICAS: list[str] = []
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5)  # further behind: not read
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=1)  # each process measures the lag this often
# A writer's reads stay on the primary this long: at least the lag a replica may be read with
# (REPLICA_MAX_LAG_SECONDS, and growing until the next check), so they never miss their write.
REPLICA_READ_YOUR_WRITES_SECONDS = env.int("REPLICA_READ_YOUR_WRITES_SECONDS", default=6)
REPLICA_RETRY_SECONDS = env.float("REPLICA_RETRY_SECONDS", default=5)  # an unreachable replica is left alone
REPLICA_POOL_TIMEOUT = env.float("REPLICA_POOL_TIMEOUT", default=2)
if DATABASE_REPLICA_URLS:
    if not DATABASES["default"]["ENGINE"].endswith(".postgresql"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs DATABASE_URL to be PostgreSQL (their primary).")
    for number, url in enumerate(DATABASE_REPLICA_URLS, 1):
        replica = env.db_url_config(url)
        replica_options = {**DATABASES["default"].get("OPTIONS", {}), **replica.get("OPTIONS", {})}
        if "pool" in replica_options:
            pool_timeout = min(replica_options["pool"]["timeout"], REPLICA_POOL_TIMEOUT)
            replica_options["pool"] = {**replica_options["pool"], "timeout": pool_timeout}
        replica_options.setdefault("connect_timeout", max(2, round(REPLICA_POOL_TIMEOUT)))  # libpq's minimum is 2
        DATABASES[f"replica_{number}"] = {
            **DATABASES["default"],
            **replica,
            "ENGINE": DATABASES["default"]["ENGINE"],  # django-prometheus's, timed like the primary
            "OPTIONS": replica_options,
            "TEST": {"MIRROR": "default"},  # a test run reads the primary's test database there
        }
        DATABASE_REPLICAS.append(f"replica_{number}")
    DATABASE_ROUTERS = ["socialsite.replicas.ReplicaRouter"]
    MIDDLEWARE.insert(0, "socialsite.replicas.ReplicaMiddleware")  # outermost: its request's every read

# --- Cache, channel layer, Celery ---------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Channel-layer queues (docs/realtime.md "Gaps and resync"), sized for a group chat's burst. A
# full queue drops the event, logs a WARNING, and its socket gets session.resync (layers.py).
CHANNEL_SOCKET_CAPACITY = env.int("CHANNEL_SOCKET_CAPACITY", default=500)  # events waiting for one socket
# Redis only: all sockets of one process share a queue there; an event to many of them is one entry.
CHANNEL_PROCESS_CAPACITY = env.int("CHANNEL_PROCESS_CAPACITY", default=2000)
CHANNEL_EXPIRY = env.int("CHANNEL_EXPIRY", default=60)  # seconds an unread event waits
# REDIS_URL names a node of a Redis Cluster: the cache, rate limits and presence (and timelines,
# FEED_REDIS_CLUSTER) use redis.cluster.RedisCluster. channels-redis and Celery can't use a cluster:
# the channel layer shards over CHANNEL_REDIS_URLS, the broker is a Redis or RabbitMQ of its own
# (docs/operations.md "Redis at scale").
REDIS_CLUSTER = env.bool("REDIS_CLUSTER", default=False)
# The channel layer's Redis servers, comma separated; channels-redis shards groups and each
# process's queue over them by a hash of the name.
CHANNEL_REDIS_URLS = env.list("CHANNEL_REDIS_URLS", default=[REDIS_URL] if REDIS_URL and not REDIS_CLUSTER else [])
if REDIS_CLUSTER and not CHANNEL_REDIS_URLS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("REDIS_CLUSTER=true needs CHANNEL_REDIS_URLS: channels-redis can't use a Redis Cluster.")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": f"socialsite.cache.{'ClusterRedisCache' if REDIS_CLUSTER else 'SharedPoolRedisCache'}",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "socialsite",
        }
    }
else:
    # Django's: django-prometheus's LocMemCache returns the default for a cached 0 or "" (a miss).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if CHANNEL_REDIS_URLS:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "socialsite.realtime.layers.RedisChannelLayer",  # channels_redis's, plus group_send_many
            # redis-py 8 reads with a 5 s socket timeout, as long as channels_redis's blocking
            # receive: idle sockets would drop (django/channels_redis#422). Give it headroom.
            "CONFIG": {
                # A pool that waits up to `timeout` s for one of its connections (layers.py).
                "hosts": [
                    {"address": url, "socket_timeout": 15, "max_connections": 30, "timeout": 10}
                    for url in CHANNEL_REDIS_URLS
                ],
                # Live sockets renew their memberships every minute (socialsite/realtime/heartbeat.py):
                # one whose clean-up failed, or whose process died, stops counting after 5 minutes.
                "group_expiry": 300,
                "prefix": "socialsite:ws",
                "capacity": CHANNEL_SOCKET_CAPACITY,
                "channel_capacity": {"specific.*": CHANNEL_PROCESS_CAPACITY},
                "expiry": CHANNEL_EXPIRY,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "socialsite.realtime.layers.InMemoryChannelLayer",  # channels', with gap markers
            "CONFIG": {"capacity": CHANNEL_SOCKET_CAPACITY, "expiry": CHANNEL_EXPIRY},
        }
    }
# What the realtime layer (socialsite/realtime/) asks of accounts, named here because the core
# imports no feature app: the authentication class that reads a bearer token (auth.py), and the
# service that marks the users with an open socket active (presence.py, every heartbeat).
REALTIME_TOKEN_AUTHENTICATION = "accounts.api.authentication.JWTAuthentication"
REALTIME_TOUCH_ACTIVE = "accounts.services.users_touch_last_active"

# --- Outbox (socialsite/outbox.py) ----------------------------------------------------
OUTBOX_RELAY_SECONDS = env.float("OUTBOX_RELAY_SECONDS", default=5)  # beat runs the relay this often
OUTBOX_RELAY_AFTER = env.float("OUTBOX_RELAY_AFTER", default=10)  # a row the fast path left is due then
OUTBOX_RELAY_BATCH = env.int("OUTBOX_RELAY_BATCH", default=500)  # rows claimed per relay pass
OUTBOX_BREAKER_SECONDS = env.float("OUTBOX_BREAKER_SECONDS", default=5)  # fast path pauses after a refusal
OUTBOX_BACKLOG_COUNT_MAX = 100_000  # /readyz counts the backlog up to this
REPAIR_SECONDS = env.float("REPAIR_SECONDS", default=30)  # beat runs the sweepers (socialsite.repair) this often

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker, tasks run in-process after the commit; services still queue them through the
# outbox (socialsite/outbox.py).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"  # with a host: kombu warned "No hostname was supplied"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged when it has run, and a worker that dies mid-task gives it back: RabbitMQ
# redelivers it as soon as the worker's connection drops; Redis after its visibility timeout.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True  # their messages come back anyway
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_TIMEOUT = 2  # seconds; the outbox relays what a request couldn't publish
# Every queue the project uses; a worker started without -Q consumes all of them.
TASK_QUEUES = ["default", "media", "fanout_high", "fanout_low", "notifications", "search"]
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ (docs/operations.md): durable queues and persistent messages, and the broker confirms
    # each publish before the outbox deletes its row. Timeouts, so a hung node fails a publish
    # (the relay retries) instead of blocking it forever.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True, "read_timeout": 5, "write_timeout": 5}
    CELERY_BROKER_HEARTBEAT = env.int("CELERY_BROKER_HEARTBEAT", default=30)  # a dead worker host: ~1 min
    if env.str("CELERY_RABBITMQ_QUEUE_TYPE", default="classic") == "quorum":
        # Replicated across a RabbitMQ cluster. A topic exchange per queue, each with its own key, so
        # countdowns and retries use RabbitMQ's native delayed delivery instead of waiting in a worker.
        CELERY_TASK_QUEUES = [
            Queue(
                name,
                Exchange(f"socialsite.{name}", type="topic"),
                routing_key=name,
                queue_arguments={"x-queue-type": "quorum"},
            )
            for name in TASK_QUEUES
        ]
    else:
        CELERY_TASK_QUEUES = [Queue(name) for name in TASK_QUEUES]
else:
    CELERY_TASK_QUEUES = [Queue(name) for name in TASK_QUEUES]
    # Redis: a task a dead worker held comes back after the visibility timeout, which must be longer
    # than the longest task plus the longest countdown or retry wait (else it runs twice). Fan-outs
    # and media don't wait for it: the sweeper (REPAIR_SECONDS) resumes them.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_throttle": 1,  # look for such tasks every 10 s, not every 100 s
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
CELERY_TASK_ROUTES = {
    "socialsite.tasks.*": {"queue": "default"},
    "accounts.tasks.*": {"queue": "default"},
    "feeds.tasks.push_batch": {"queue": "fanout_high"},  # callers pick fanout_low per batch
    "feeds.tasks.*": {"queue": "fanout_low"},
    "posts.tasks.process_media": {"queue": "media"},  # media.tasks, under its name from before media was an app
    "posts.tasks.*": {"queue": "default"},
    "notifications.tasks.*": {"queue": "notifications"},
    "search.tasks.*": {"queue": "search"},
}
CELERY_BEAT_SCHEDULE = {
    # A relay message that waited longer than its period is dropped: the next one does the work.
    "outbox-relay": {
        "task": "socialsite.tasks.relay_outbox",
        "schedule": OUTBOX_RELAY_SECONDS,
        "options": {"expires": OUTBOX_RELAY_SECONDS},
    },
    "repair": {"task": "socialsite.tasks.repair", "schedule": REPAIR_SECONDS, "options": {"expires": REPAIR_SECONDS}},
    "feeds-sync-tiers": {"task": "feeds.tasks.sync_tiers", "schedule": 15 * 60},
    "search-compute-trends": {
        "task": "search.tasks.compute_trends",
        "schedule": env.int("TRENDS_COMPUTE_SECONDS", default=5 * 60),
    },
    "idempotency-prune": {"task": "socialsite.tasks.prune_idempotency_keys", "schedule": 60 * 60},
    "token-families-prune": {"task": "accounts.tasks.prune_token_families", "schedule": 60 * 60},
    "push-deliveries-prune": {"task": "notifications.tasks.prune_push_deliveries", "schedule": 60 * 60},
}
CELERY_TIMEZONE = "UTC"
# Without a broker, the web process (socialsite.serve) runs this schedule itself (embedded_beat.py).
EMBEDDED_BEAT = env.bool("EMBEDDED_BEAT", default=True)

# --- Notifications (notifications/) ---------------------------------------------------
# Likes, comments, shares, follows and messages about one target within this many seconds
# read as one line ("Ana and 12 others liked your post").
NOTIFICATION_GROUP_SECONDS = env.int("NOTIFICATION_GROUP_SECONDS", default=12 * 3600)
NOTIFICATION_BATCH = env.int("NOTIFICATION_BATCH", default=1000)  # bell subscribers per task
# A conversation's messages notify once per this many seconds (a burst is one notification); 0: each.
NOTIFICATION_MESSAGE_SECONDS = env.int("NOTIFICATION_MESSAGE_SECONDS", default=10)
NOTIFICATION_POLL_SECONDS = env.int("NOTIFICATION_POLL_SECONDS", default=25)  # long-poll's longest wait
NOTIFICATION_SSE_HEARTBEAT = env.int("NOTIFICATION_SSE_HEARTBEAT", default=15)  # seconds between pings
NOTIFICATION_SSE_MAX_SECONDS = env.int("NOTIFICATION_SSE_MAX_SECONDS", default=300)  # then the client reconnects

# Web Push (notifications/push.py, docs/operations.md "Web Push"): off unless both VAPID keys
# are set (`manage.py webpush_keys` prints a new pair). The subject is a mailto: or https: URL
# the push services can reach the operator at.
WEBPUSH_VAPID_PUBLIC_KEY = env.str("WEBPUSH_VAPID_PUBLIC_KEY", default="")
WEBPUSH_VAPID_PRIVATE_KEY = env.str("WEBPUSH_VAPID_PRIVATE_KEY", default="")
WEBPUSH_VAPID_SUBJECT = env.str("WEBPUSH_VAPID_SUBJECT", default="mailto:admin@socialsite.local")
# Where a subscription may point: "scheme://host" patterns (fnmatch) of the browsers' push
# services. The worker POSTs to these URLs, so an endpoint anywhere else is refused.
WEBPUSH_ENDPOINT_HOSTS = env.list(
    "WEBPUSH_ENDPOINT_HOSTS",
    default=[
        "https://fcm.googleapis.com",
        "https://updates.push.services.mozilla.com",
        "https://*.push.apple.com",
        "https://*.notify.windows.com",
    ],
)
WEBPUSH_TTL = env.int("WEBPUSH_TTL", default=12 * 3600)  # seconds a push service keeps an undelivered push
WEBPUSH_TIMEOUT = env.float("WEBPUSH_TIMEOUT", default=10.0)  # seconds per request to a push service
WEBPUSH_MAX_SUBSCRIPTIONS = env.int("WEBPUSH_MAX_SUBSCRIPTIONS", default=20)  # per user: the oldest goes
# What was pushed is kept this long (a retried task skips it), far past a task's last retry.
WEBPUSH_DELIVERY_KEEP_HOURS = env.int("WEBPUSH_DELIVERY_KEEP_HOURS", default=24)

# --- Search and discovery (search/) ---------------------------------------------------------
SEARCH_QUERY_MAX = env.int("SEARCH_QUERY_MAX", default=200)  # characters; longer is a 400
SEARCH_MAX_RESULTS = env.int("SEARCH_MAX_RESULTS", default=1000)  # how deep pages go, per query
# PostgreSQL ranks a post search's newest this many matches (docs/search.md): a word in thousands
# of posts would cost a read of every one.
SEARCH_RANK_WINDOW = env.int("SEARCH_RANK_WINDOW", default=300)
SEARCH_SQLITE_SCAN = env.int("SEARCH_SQLITE_SCAN", default=20_000)  # names compared per SQLite fuzzy search
TRENDS_WINDOW_MINUTES = env.int("TRENDS_WINDOW_MINUTES", default=60)  # "recent" usage
TRENDS_BASELINE_DAYS = env.int("TRENDS_BASELINE_DAYS", default=7)  # compared with this many days before
TRENDS_MIN_AUTHORS = env.int("TRENDS_MIN_AUTHORS", default=3)  # distinct recent authors to trend
TRENDS_KEEP = env.int("TRENDS_KEEP", default=50)  # trends kept per recompute
# Explore and the empty home feed: the most engaged public posts published in the last days.
EXPLORE_POSTS_DAYS = env.int("EXPLORE_POSTS_DAYS", default=3)
# The interests offered as chips on /welcome/ (accounts.Interest names: lowercase).
ONBOARDING_INTERESTS = [
    "photography", "hiking", "cooking", "coffee", "jazz", "indie games", "running", "climbing",
    "cycling", "film", "sci-fi", "gardening", "baking", "chess", "open source", "typography",
    "travel", "street food", "poetry", "astronomy", "football", "board games", "architecture", "surfing",
]  # fmt: skip
# Elasticsearch answers searches when ELASTICSEARCH_URL is set (else the database does). Its
# indexes are "<prefix>-posts", "-users", "-hashtags" (aliases); `manage.py reindex` rebuilds them.
ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="")
ELASTICSEARCH_INDEX_PREFIX = env.str("ELASTICSEARCH_INDEX_PREFIX", default="socialsite")
# The client is made lazily: nothing connects until a search or an index task runs.
ELASTICSEARCH_DSL = {"default": {"hosts": ELASTICSEARCH_URL or "http://127.0.0.1:9200"}}
ELASTICSEARCH_DSL_AUTOSYNC = False  # search tasks index after commit, not save() signals
ELASTICSEARCH_DSL_AUTO_REFRESH = False  # searchable after the index's refresh interval (1 s)
ELASTICSEARCH_DSL_SIGNAL_PROCESSOR = "django_elasticsearch_dsl.signals.BaseSignalProcessor"  # connects nothing

# --- Home feed (feeds/) -------------------------------------------------------------
# Authors with at least this many followers are celebrities: their posts are pulled at read
# time instead of pushed into every follower's timeline.
FEED_FANOUT_THRESHOLD = env.int("FEED_FANOUT_THRESHOLD", default=10_000)
FEED_TIMELINE_CAP = env.int("FEED_TIMELINE_CAP", default=800)  # ids kept per home timeline
FEED_AUTHOR_TIMELINE_CAP = env.int("FEED_AUTHOR_TIMELINE_CAP", default=800)  # per celebrity
FEED_ACTIVE_DAYS = env.int("FEED_ACTIVE_DAYS", default=7)  # fan-out skips users idle longer
FEED_HOT_HOURS = env.int("FEED_HOT_HOURS", default=24)  # active this recently: high-priority queue
FEED_FANOUT_BATCH = env.int("FEED_FANOUT_BATCH", default=1000)  # followers per fan-out task
# A fan-out with no step for this long (a worker died, the broker lost its task) is resumed by
# the sweeper from its undone batches.
FEED_FANOUT_STALL_SECONDS = env.int("FEED_FANOUT_STALL_SECONDS", default=120)
# Timelines live in Redis (FEED_REDIS_URL, default REDIS_URL); without it, in process memory.
FEED_REDIS_URL = env.str("FEED_REDIS_URL", default=REDIS_URL)
FEED_REDIS_CLUSTER = env.bool("FEED_REDIS_CLUSTER", default=REDIS_CLUSTER)  # FEED_REDIS_URL is a cluster node

# --- Auth --------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Seconds a signed-in user's row stays in the cache (accounts/user_cache.py); every write of the
# row replaces it at once. Only with a shared cache (Redis): a per-process one would miss writes
# made by other processes. 0 turns it off.
AUTH_USER_CACHE_SECONDS = env.int("AUTH_USER_CACHE_SECONDS", default=120 if REDIS_URL else 0)
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Rates read "count/period", the period a number and s|m|h|d: "25/5m".
THROTTLE_LOGIN = env.str("THROTTLE_LOGIN", default="25/5m")
THROTTLE_SIGNUP = env.str("THROTTLE_SIGNUP", default="5/30m")
THROTTLE_API = env.str("THROTTLE_API", default="300/5m")
THROTTLE_ANON = env.str("THROTTLE_ANON", default="300/5m")
THROTTLE_PASSWORD_RESET = env.str("THROTTLE_PASSWORD_RESET", default="5/30m")
THROTTLE_PHONE_CODE = env.str("THROTTLE_PHONE_CODE", default="5/30m")
THROTTLE_REPORT = env.str("THROTTLE_REPORT", default="20/h")
THROTTLE_APPEAL = env.str("THROTTLE_APPEAL", default="5/h")  # moderation appeals per account
THROTTLE_SEARCH = env.str("THROTTLE_SEARCH", default="120/m")  # searches and autocompletes per user or IP
THROTTLE_MESSAGE = env.str("THROTTLE_MESSAGE", default="30/m")  # messages sent per user, REST and socket
MESSAGE_MAX_LENGTH = env.int("MESSAGE_MAX_LENGTH", default=4000)  # characters
MESSAGE_GROUP_MAX_MEMBERS = env.int("MESSAGE_GROUP_MAX_MEMBERS", default=50)

# django-allauth
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_SIGNUP_REDIRECT_URL = "welcome"  # onboarding (search/welcome.py): interests, then people to follow
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email", "username", "phone"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "phone", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
# One address per account: a new one waits beside the old until confirmed, then replaces it (the
# old one could still sign in).
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PRESERVE_USERNAME_CASING = True
ACCOUNT_USERNAME_MIN_LENGTH = 3
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    "login": f"{THROTTLE_LOGIN}/ip",
    "login_failed": f"{THROTTLE_LOGIN}/ip,{THROTTLE_LOGIN}/key",
    "signup": f"{THROTTLE_SIGNUP}/ip",
    "reset_password": f"{THROTTLE_PASSWORD_RESET}/ip,{THROTTLE_PASSWORD_RESET}/key",
    "confirm_email": "1/3m/key",
    "verify_phone": f"{THROTTLE_PHONE_CODE}/ip,{THROTTLE_PHONE_CODE}/key",
    "request_login_code": f"{THROTTLE_PHONE_CODE}/ip,{THROTTLE_PHONE_CODE}/key",
}
# Two-factor authentication (allauth.mfa): an authenticator app (TOTP) with recovery codes, and
# security keys and passkeys (WebAuthn). Every sign-in path asks for it, the API's included
# (accounts/second_factor.py); see docs/security.md.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "socialsite"
# The API's second step: how long a challenge from a log-in stays good, and how many codes one takes.
MFA_CHALLENGE_SECONDS = env.int("MFA_CHALLENGE_SECONDS", default=300)
MFA_CHALLENGE_ATTEMPTS = 5
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False

# Providers are switched on by their credentials; absent credentials, absent button.
SOCIALACCOUNT_PROVIDERS = {}
if env.str("GOOGLE_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [
            {
                "client_id": env.str("GOOGLE_CLIENT_ID"),
                "secret": env.str("GOOGLE_CLIENT_SECRET", default=""),
            }
        ],
        "SCOPE": ["profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
    }
if env.str("APPLE_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["apple"] = {
        "APPS": [
            {
                "client_id": env.str("APPLE_CLIENT_ID"),
                "secret": env.str("APPLE_KEY_ID", default=""),
                "key": env.str("APPLE_TEAM_ID", default=""),
                "settings": {"certificate_key": env.str("APPLE_PRIVATE_KEY", multiline=True, default="")},
            }
        ]
    }
if env.str("FACEBOOK_CLIENT_ID", default=""):
    SOCIALACCOUNT_PROVIDERS["facebook"] = {
        "APPS": [
            {
                "client_id": env.str("FACEBOOK_CLIENT_ID"),
                "secret": env.str("FACEBOOK_CLIENT_SECRET", default=""),
            }
        ],
        "METHOD": "oauth2",
        "SCOPE": ["email", "public_profile"],
        "FIELDS": ["id", "email", "name", "first_name", "last_name"],
    }

SMS_BACKEND = env.str("SMS_BACKEND", default="accounts.sms.ConsoleSMSBackend")
# accounts.sms.TwilioSMSBackend's account, and the sender number or name of every text.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
SMS_FROM = env.str("SMS_FROM", default="")
PHONENUMBER_DEFAULT_FORMAT = "E164"

# --- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only: one way to send a body, typed. Uploads (media, avatar) name multipart themselves.
    "DEFAULT_PARSER_CLASSES": ["socialsite.api.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_CLASSES": [
        "socialsite.api.throttling.UserAPIThrottle",
        "socialsite.api.throttling.AnonAPIThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api": THROTTLE_API,
        "anon": THROTTLE_ANON,
        "login": THROTTLE_LOGIN,
        "signup": THROTTLE_SIGNUP,
        "search": THROTTLE_SEARCH,
    },
    "DEFAULT_PAGINATION_CLASS": "socialsite.api.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "socialsite.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# Sign-in and sign-up rate limits (allauth) count per client IP too: the same proxies to trust. Left
# at 0 behind nginx, every client would share nginx's address (one bucket for everybody).
ALLAUTH_TRUSTED_PROXY_COUNT = REST_FRAMEWORK["NUM_PROXIES"]
API_PAGE_SIZE_MAX = 50
# An Idempotency-Key answers retries this long (socialsite/api/idempotency.py, docs/api.md).
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    # Rotation, reuse detection and revocation are accounts/tokens.py (token families).
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "socialsite API",
    "DESCRIPTION": 'REST API of socialsite. Errors use {"error": {"code", "message", "fields"?}}.',
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "socialsite.api.schema.add_shared_errors",  # 400, 401, 404, 429, 503 wherever they can happen
    ],
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files (no CDN; fits the CSP).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two report reason lists (posts and messages) would otherwise both be named "ReasonEnum".
    "ENUM_NAME_OVERRIDES": {
        "PostReportReasonEnum": "posts.models.Report.Reason",
        "MessageReportReasonEnum": "messaging.models.MessageReport.Reason",
    },
}

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
# Not ./media: that is the media app's code.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "socialsite.storages.S3Storage",  # django-storages behind a circuit breaker
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default=None),
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=False),
            "file_overwrite": False,
        },
    }
    # Post media of every post gets presigned URLs (media/signed_urls.py): keep the bucket private.
    STORAGES["signed_media"] = {
        "BACKEND": STORAGES["default"]["BACKEND"],
        "OPTIONS": {
            **STORAGES["default"]["OPTIONS"],
            "custom_domain": None,
            "querystring_auth": True,
            "signature_version": "s3v4",  # what every region accepts
        },
    }
# A post media URL's expiry is the end of the window after next (2-3 windows from now): the same
# address for every viewer within a window, so it caches (media/signed_urls.py).
MEDIA_URL_WINDOW_SECONDS = env.int("MEDIA_URL_WINDOW_SECONDS", default=3600)
# Local media is served by Django only in the embedded default.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=DEBUG and not AWS_STORAGE_BUCKET_NAME)
WHITENOISE_USE_FINDERS = DEBUG
# Post media limits (the media worker enforces them; see media/limits.py).
MEDIA_IMAGE_MAX_BYTES = env.int("MEDIA_IMAGE_MAX_BYTES", default=16 * 1024 * 1024)
MEDIA_IMAGE_MAX_PIXELS = env.int("MEDIA_IMAGE_MAX_PIXELS", default=40_000_000)
MEDIA_VIDEO_MAX_BYTES = env.int("MEDIA_VIDEO_MAX_BYTES", default=99 * 1024 * 1024)
MEDIA_VIDEO_MAX_SECONDS = env.int("MEDIA_VIDEO_MAX_SECONDS", default=180)
MEDIA_VIDEO_MAX_HEIGHT = env.int("MEDIA_VIDEO_MAX_HEIGHT", default=1080)
# Still processing this long after being queued: the sweeper queues it again, and marks it failed
# once this many runs have started (a file that kills its worker, or can't be done in time).
MEDIA_PROCESSING_DEADLINE = env.int("MEDIA_PROCESSING_DEADLINE", default=900)
MEDIA_PROCESSING_ATTEMPTS = env.int("MEDIA_PROCESSING_ATTEMPTS", default=3)
# An upload no post took within this many hours is deleted with its files (a sweeper, posts.repair).
MEDIA_UNATTACHED_HOURS = env.int("MEDIA_UNATTACHED_HOURS", default=24)
AVATAR_MAX_UPLOAD_BYTES = env.int("AVATAR_MAX_UPLOAD_BYTES", default=8 * 1024 * 1024)
AVATAR_MAX_PIXELS = 40_000_000
AVATAR_SIZE = 400
AVATAR_SMALL_SIZE = 96  # the 40px avatars of lists and cards at 2x (accounts.images)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Email ------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="socialsite <no-reply@socialsite.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -----------------------------------------------------------------------
# SECURE_HTTPS turns on secure cookies, HSTS and the HTTPS redirect. It defaults to on
# whenever DEBUG is off; set SECURE_HTTPS=false only for a plain-HTTP staging host.
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000) if SECURE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SECURE_HTTPS)
if env.bool("SECURE_PROXY_SSL", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"]
        + ([env.str("MEDIA_ORIGIN")] if env.str("MEDIA_ORIGIN", default="") else []),
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'", "ws:", "wss:"] if DEBUG else ["'self'", "wss:"],
        "font-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": [
            "'self'",
            "https://accounts.google.com",
            "https://appleid.apple.com",
            "https://www.facebook.com",
        ],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- I18n ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ------------------------------------------------------------------------
# socialsite.logs: JSON lines (production) or readable ones (`make run`), with the request id.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
configure_structlog()
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
LOGGING["loggers"] = {
    "django.db.backends": {"level": "WARNING"},
    # Embedded default only (a worker keeps its own --loglevel: bench_notifications reads its
    # "succeeded" lines): in-process tasks would log a line each (load_demo alone printed 614), and
    # beat in the web process every relay round.
    **(
        {"celery.app.trace": {"level": "WARNING"}, "celery.beat": {"level": "WARNING"}}
        if CELERY_TASK_ALWAYS_EAGER
        else {}
    ),
}
DJANGO_STRUCTLOG_CELERY_ENABLED = True  # the request id into the headers of the tasks a request queues
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False  # nginx logs the client's address
DJANGO_STRUCTLOG_USER_ID_FIELD = "pk"

# --- Metrics (socialsite/metrics.py, docs/operations.md "Metrics") ---------------------------------------
# /metrics is open with DEBUG; otherwise it answers `Authorization: Bearer <METRICS_TOKEN>` and the
# addresses in METRICS_ALLOWED_IPS (CIDRs; the client address as NUM_PROXIES makes it), else a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
for _cidr in METRICS_ALLOWED_IPS:  # a typo stops the start, not every scrape
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as _error:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_error}") from None
# A Celery worker on a host without a web process serves its host's series on this port (0: off).
METRICS_EXPORTER_PORT = env.int("METRICS_EXPORTER_PORT", default=0)
METRICS_EXPORTER_ADDRESS = env.str("METRICS_EXPORTER_ADDRESS", default="127.0.0.1")

# --- Circuit breakers (socialsite/breakers.py; docs/operations.md, "Degraded modes") ----------
# Elasticsearch, S3, SMTP, SMS and link-preview fetches fail fast after this many consecutive
# errors, and let a trial call through after this many seconds.
BREAKER_FAIL_MAX = env.int("BREAKER_FAIL_MAX", default=5)
BREAKER_RESET_SECONDS = env.float("BREAKER_RESET_SECONDS", default=30.0)
# With EMAIL_URL, mail goes out from a task through the outbox (socialsite/mail.py) by way of
# the URL's backend: a request never waits on SMTP, and an SMTP outage only delays the mail.
EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.console.EmailBackend"
if env.str("EMAIL_URL", default=""):
    EMAIL_DELIVERY_BACKEND = env.email_url("EMAIL_URL")["EMAIL_BACKEND"]
    EMAIL_BACKEND = "socialsite.mail.OutboxEmailBackend"
