"""search.suggestions: friends of friends with mutual counts, then accounts sharing interests."""

import pytest

from accounts.models import Interest, Profile
from search.suggestions import FRIENDS_OF_FRIENDS, SHARED_INTERESTS, suggestions_for
from tests.factories import BlockFactory, FollowFactory, FollowRequestFactory, MuteFactory, UserFactory

pytestmark = pytest.mark.django_db


def follows(follower, *followed):
    for user in followed:
        FollowFactory(follower=follower, followed=user)


def followers(user, count):
    Profile.objects.filter(user=user).update(followers_count=count)


def likes(user, *names):
    user.profile.interests.add(*(Interest.objects.get_or_create(name=name)[0] for name in names))


def rows(user, limit=20):
    return [(s.user.username, s.reason, s.mutual_count, s.mutuals) for s in suggestions_for(user, limit)]


@pytest.fixture
def dan(db):
    return UserFactory(username="dan")


@pytest.fixture
def eve(db):
    return UserFactory(username="eve")


@pytest.fixture
def graph(ana, bo, cy, dan, eve):
    """ana follows bo and cy; both follow dan, bo also follows eve."""
    follows(ana, bo, cy)
    follows(bo, dan, eve)
    follows(cy, dan)


def test_friends_of_friends_with_mutual_counts(graph, ana):
    assert rows(ana) == [
        ("dan", FRIENDS_OF_FRIENDS, 2, ["bo", "cy"]),
        ("eve", FRIENDS_OF_FRIENDS, 1, ["bo"]),
    ]


def test_ties_go_to_more_followers_and_mutuals_shown_are_the_best_known(ana, dan, eve):
    friends = [UserFactory(username=f"friend{i}") for i in range(5)]
    follows(ana, *friends)
    for friend in friends[:4]:
        follows(friend, dan)
    followers(friends[3], 100)
    assert rows(ana)[0] == ("dan", FRIENDS_OF_FRIENDS, 4, ["friend3", "friend0", "friend1"])
    zed = UserFactory(username="zed")
    follows(friends[4], eve, zed)
    followers(zed, 7)
    assert [name for name, *_ in rows(ana)] == ["dan", "zed", "eve"]
    assert [name for name, *_ in rows(ana, limit=2)] == ["dan", "zed"]


@pytest.mark.parametrize(
    "exclude",
    [
        pytest.param(lambda ana, dan: FollowFactory(follower=ana, followed=dan), id="already followed"),
        pytest.param(lambda ana, dan: FollowRequestFactory(requester=ana, target=dan), id="requested"),
        pytest.param(lambda ana, dan: BlockFactory(blocker=ana, blocked=dan), id="blocked"),
        pytest.param(lambda ana, dan: BlockFactory(blocker=dan, blocked=ana), id="blocked by"),
        pytest.param(lambda ana, dan: MuteFactory(muter=ana, muted=dan), id="muted"),
        pytest.param(lambda ana, dan: type(dan).objects.filter(pk=dan.pk).update(is_active=False), id="inactive"),
    ],
)
def test_exclusions(graph, ana, dan, exclude):
    likes(ana, "jazz")
    likes(dan, "jazz")  # nor through the interests
    exclude(ana, dan)
    assert [name for name, *_ in rows(ana)] == ["eve"]


def test_never_yourself_and_inactive_friends_do_not_count(graph, ana, bo, cy):
    follows(bo, ana)  # ana is bo's friend too
    type(bo).objects.filter(pk=bo.pk).update(is_active=False)
    assert rows(ana) == [("dan", FRIENDS_OF_FRIENDS, 1, ["cy"])]


def test_filled_with_accounts_popular_in_your_interests(graph, ana, dan):
    likes(ana, "jazz", "chess")
    fay, gus, hal = (UserFactory(username=name) for name in ("fay", "gus", "hal"))
    likes(fay, "jazz")
    likes(gus, "chess", "jazz")
    likes(hal, "knitting")
    likes(dan, "jazz")  # already a friend of friends: listed once
    followers(fay, 10)
    followers(gus, 5)
    assert rows(ana) == [
        ("dan", FRIENDS_OF_FRIENDS, 2, ["bo", "cy"]),
        ("eve", FRIENDS_OF_FRIENDS, 1, ["bo"]),
        ("fay", SHARED_INTERESTS, 0, []),
        ("gus", SHARED_INTERESTS, 0, []),
    ]
    assert [name for name, *_ in rows(ana, limit=3)] == ["dan", "eve", "fay"]


def test_nobody_to_suggest(ana):
    likes(UserFactory(), "jazz")
    assert suggestions_for(ana, 20) == []


@pytest.mark.parametrize("limit", [3, 50])
def test_bounded_queries(ana, limit, django_assert_max_num_queries):
    likes(ana, "jazz")
    friends, common = UserFactory.create_batch(6), UserFactory()
    follows(ana, *friends)
    for friend in friends:
        follows(friend, common, *UserFactory.create_batch(3))
    for user in UserFactory.create_batch(6):
        likes(user, "jazz")
    with django_assert_max_num_queries(3):
        found = suggestions_for(ana, limit)
    assert len(found) == min(limit, 1 + 18 + 6)
    assert (found[0].user, found[0].mutual_count, len(found[0].mutuals)) == (common, 6, 3)
