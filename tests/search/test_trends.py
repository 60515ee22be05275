"""search.trends: velocity ranking over public posts, the beat task, and moderators' hide/show."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from posts.models import ModerationAction
from search import trends
from search.models import Trend
from search.tasks import compute_trends
from socialsite.errors import NotFoundError
from tests.accounts.admin.conftest import logged_in
from tests.factories import UserFactory
from tests.posts.factories import HashtagFactory, PostFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def post_tagged(tag, author, at=None, **fields):
    post = PostFactory(author=author, published_at=at or NOW - timedelta(minutes=10), **fields)
    post.hashtags.add(tag)
    return post


def burst(tag, authors, at=None):
    return [post_tagged(tag, author, at) for author in authors]


@pytest.fixture
def authors(db):
    return UserFactory.create_batch(3)


def trend_names(at=NOW):
    return [trend.hashtag.name for trend in trends.trending(50, now=at)]


def test_trends_older_than_the_window_do_not_show(authors):
    burst(HashtagFactory(name="stale"), authors)
    trends.compute(now=NOW)
    assert trend_names(NOW + timedelta(minutes=59)) == ["stale"]
    assert trend_names(NOW + timedelta(minutes=61)) == []  # the beat stopped: not "trending now"


class TestCompute:
    def test_a_burst_from_distinct_authors_trends(self, authors):
        tag = HashtagFactory(name="launch")
        burst(tag, authors)
        kept = trends.compute(now=NOW)
        trend = Trend.objects.get(hashtag=tag)
        assert kept == [trend]
        assert (trend.recent_posts, trend.recent_authors, trend.baseline_per_hour) == (3, 3, 0)
        assert trend.score == 3.0  # (3 − 0) / sqrt(0 + 1)
        assert trend.computed_at == NOW and trend.hidden_at is None
        assert trend_names() == ["launch"]

    def test_a_burst_from_one_author_or_too_few_authors_does_not(self, authors):
        solo, pair = HashtagFactory(name="solo"), HashtagFactory(name="pair")
        burst(solo, [authors[0]] * 10)
        burst(pair, authors[:2] * 5)
        trends.compute(now=NOW)
        assert not Trend.objects.exists()

    def test_steady_usage_does_not_trend_and_a_rise_above_it_does(self, authors, settings):
        settings.TRENDS_BASELINE_DAYS = 1
        steady, rising = HashtagFactory(name="steady"), HashtagFactory(name="rising")
        for hour in range(1, 25):  # three posts an hour for the day before the window
            burst(steady, authors, NOW - timedelta(minutes=30) - timedelta(hours=hour))
            burst(rising, authors, NOW - timedelta(minutes=30) - timedelta(hours=hour))
        burst(steady, authors)
        burst(rising, authors * 2)
        trends.compute(now=NOW)
        trend = Trend.objects.get()
        assert trend.hashtag == rising
        assert (trend.recent_posts, trend.baseline_per_hour) == (6, 3.0)
        assert trend.score == 1.5  # (6 − 3) / sqrt(3 + 1)

    def test_posts_before_the_baseline_or_after_now_do_not_count(self, authors, settings):
        settings.TRENDS_BASELINE_DAYS = 1
        tag = HashtagFactory(name="old")
        burst(tag, authors, NOW - timedelta(days=3))
        burst(tag, authors, NOW + timedelta(minutes=5))
        trends.compute(now=NOW)
        assert not Trend.objects.exists()

    @pytest.mark.parametrize(
        "make_post",
        [
            pytest.param(lambda tag: post_tagged(tag, UserFactory(private=True)), id="private account"),
            pytest.param(lambda tag: post_tagged(tag, UserFactory(is_active=False)), id="inactive author"),
            pytest.param(lambda tag: post_tagged(tag, UserFactory(), visibility="followers"), id="followers only"),
            pytest.param(lambda tag: post_tagged(tag, UserFactory(), visibility="mentioned"), id="mentioned only"),
            pytest.param(lambda tag: post_tagged(tag, UserFactory(), deleted_at=NOW), id="deleted"),
            pytest.param(lambda tag: post_tagged(tag, UserFactory(), hidden_at=NOW), id="hidden"),
            pytest.param(lambda tag: post_tagged(tag, UserFactory(), status="pending_media"), id="pending media"),
        ],
    )
    def test_only_public_visible_posts_count(self, authors, make_post):
        tag = HashtagFactory(name="almost")
        burst(tag, authors[:2])
        for _ in range(3):
            make_post(tag)
        trends.compute(now=NOW)
        assert not Trend.objects.exists()
        post_tagged(tag, authors[2])  # the third public author tips it over
        trends.compute(now=NOW)
        assert Trend.objects.get().recent_posts == 3

    def test_keeps_the_top_ones_and_drops_what_no_longer_trends(self, authors, settings):
        settings.TRENDS_KEEP = 2
        small, medium, big = (HashtagFactory(name=name) for name in ("small", "medium", "big"))
        burst(small, authors)
        burst(medium, authors * 2)
        burst(big, authors * 3)
        trends.compute(now=NOW)
        assert trend_names() == ["big", "medium"]
        later = NOW + timedelta(hours=2)
        burst(small, authors, later - timedelta(minutes=5))
        trends.compute(now=later)
        assert trend_names(later) == ["small"]
        assert Trend.objects.count() == 1

    def test_runs_a_bounded_number_of_queries(self, authors, django_assert_max_num_queries):
        for i in range(10):
            burst(HashtagFactory(name=f"tag{i}"), authors)
        # savepoint, candidates, hidden ids, upsert, delete, release
        with django_assert_max_num_queries(6):
            trends.compute(now=NOW)
        assert Trend.objects.count() == 10


class TestHide:
    def test_hidden_stays_hidden_after_recomputes(self, authors):
        moderator = UserFactory(is_staff=True)
        tag = HashtagFactory(name="spammy")
        burst(tag, authors)
        trends.compute(now=NOW)
        with freeze_time(NOW):
            trends.hide(name="SPAMMY", moderator=moderator)
        burst(tag, authors)
        trends.compute(now=NOW + timedelta(minutes=5))
        trend = Trend.objects.get()
        assert (trend.hidden_at, trend.hidden_by, trend.recent_posts) == (NOW, moderator, 6)
        assert trend_names() == []
        # Gone quiet: a visible row would be dropped, the hidden one stays.
        trends.compute(now=NOW + timedelta(hours=3))
        assert Trend.objects.get().hidden_at == NOW

    def test_a_hidden_trend_does_not_take_a_place(self, authors, settings):
        settings.TRENDS_KEEP = 1
        burst(HashtagFactory(name="top"), authors * 2)
        burst(HashtagFactory(name="next"), authors)
        trends.compute(now=NOW)
        trends.hide(name="top", moderator=UserFactory())
        trends.compute(now=NOW)
        assert trend_names() == ["next"]

    def test_hide_keeps_the_first_hide_and_show_undoes_it(self, authors):
        first, second = UserFactory(), UserFactory()
        burst(HashtagFactory(name="tag"), authors)
        trends.compute(now=NOW)
        trends.hide(name="TAG", moderator=first)
        trends.hide(name="tag", moderator=second)
        assert Trend.objects.get().hidden_by == first
        # Only the hide that hid it is audited.
        [row] = ModerationAction.objects.all()
        assert (row.action, row.moderator, row.hashtag.name) == ("hide_trend", first, "tag")
        trends.show(name="tag")
        assert trend_names() == ["tag"]
        assert Trend.objects.get().hidden_by is None

    def test_hiding_what_is_not_trending_is_not_found(self, db):
        HashtagFactory(name="quiet")
        with pytest.raises(NotFoundError):
            trends.hide(name="quiet", moderator=UserFactory())
        with pytest.raises(NotFoundError):
            trends.show(name="nothing")


class TestTask:
    def test_the_beat_task_computes_trends(self, authors):
        assert django_settings.CELERY_BEAT_SCHEDULE["search-compute-trends"]["task"] == compute_trends.name
        burst(HashtagFactory(name="beat"), authors, timezone.now() - timedelta(minutes=1))
        compute_trends.delay()
        assert trend_names() == ["beat"]


class TestAdmin:
    CHANGELIST = reverse("admin:search_trend_changelist")

    @pytest.fixture
    def trend(self, authors):
        burst(HashtagFactory(name="launch"), authors)
        trends.compute(now=NOW)
        return Trend.objects.get()

    def staff(self, *codenames):
        user = UserFactory(is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(content_type__app_label="search", codename__in=codenames))
        return user

    def act(self, client, action, trend):
        return client.post(self.CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [str(trend.pk)]})

    def test_moderators_hide_and_show(self, trend):
        moderator = self.staff("view_trend", "hide_trend")
        client = logged_in(moderator)
        assert "#launch" in client.get(self.CHANGELIST).content.decode()
        assert self.act(client, "hide", trend).status_code == 302
        trend.refresh_from_db()
        assert trend.hidden_by == moderator and trend.hidden_at is not None
        hidden = client.get(self.CHANGELIST, {"hidden": "yes"})
        assert list(hidden.context["cl"].result_list) == [trend]
        assert list(client.get(self.CHANGELIST, {"hidden": "no"}).context["cl"].result_list) == []
        self.act(client, "show", trend)
        trend.refresh_from_db()
        assert trend.hidden_at is None
        # Both are in the moderation audit log, naming the hashtag.
        log = list(ModerationAction.objects.order_by("pk").values_list("action", "moderator", "hashtag__name"))
        assert log == [("hide_trend", moderator.pk, "launch"), ("show_trend", moderator.pk, "launch")]
        page = logged_in(UserFactory(is_superuser=True, is_staff=True)).get(
            reverse("admin:posts_moderationaction_changelist"), {"action__exact": "hide_trend"}
        )
        assert "#launch" in page.content.decode()

    def test_without_the_permission_there_is_no_action(self, trend):
        client = logged_in(self.staff("view_trend"))
        response = client.get(self.CHANGELIST)
        assert response.status_code == 200
        assert response.context["action_form"] is None  # no action it may run
        self.act(client, "hide", trend)
        trend.refresh_from_db()
        assert trend.hidden_at is None

    def test_trends_are_not_added_or_deleted_by_hand(self, trend):
        client = logged_in(self.staff("view_trend", "hide_trend", "add_trend", "delete_trend"))
        assert client.get(reverse("admin:search_trend_add")).status_code == 403
        assert client.get(reverse("admin:search_trend_delete", args=[trend.pk])).status_code == 403
