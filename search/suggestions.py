"""Who to follow: friends of friends first, then accounts popular among the user's interests."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from accounts.models import Block, Follow, FollowRequest, Mute, Profile
from accounts.models import User as UserModel  # the type of get_user_model(), for annotations
from posts.models import Post

User = get_user_model()

FRIENDS_OF_FRIENDS = "followed_by_people_you_follow"
SHARED_INTERESTS = "shares_your_interests"
POPULAR = "popular"
MUTUALS_SHOWN = 3


@dataclass
class Suggestion:
    user: UserModel
    reason: str
    mutual_count: int = 0
    mutuals: list[str] = field(default_factory=list)

    @property
    def followed_by(self) -> str:
        """'Followed by bo', 'Followed by bo and cy', 'Followed by bo and 2 others' (the pages)."""
        names, count = self.mutuals, self.mutual_count
        if not names:
            return ""
        if count == 2 and len(names) >= 2:
            return f"Followed by {names[0]} and {names[1]}"
        others = count - 1
        if others < 1:
            return f"Followed by {names[0]}"
        return f"Followed by {names[0]} and {others} other{'s' if others > 1 else ''}"


def _candidates(user: UserModel) -> QuerySet[UserModel]:
    """Accounts the user could start following: active, not the user, not blocked either way,
    not muted, not already followed or requested."""
    return (
        User.objects.visible_to(user)
        .exclude(pk=user.pk)
        .exclude(Exists(Follow.objects.filter(follower=user, followed=OuterRef("pk"))))
        .exclude(Exists(FollowRequest.objects.filter(requester=user, target=OuterRef("pk"))))
        .exclude(Exists(Block.objects.filter(blocker=user, blocked=OuterRef("pk"))))
        .exclude(Exists(Mute.objects.filter(muter=user, muted=OuterRef("pk"))))
        .select_related("profile")
    )


def _by_popularity(people: QuerySet[UserModel]) -> QuerySet[UserModel]:
    """Most followers first, then whoever posted publicly last (each account's newest public post,
    read through the posts' author/published_at index), then by username."""
    last_post = (
        Post.objects.visible_to(None).filter(author=OuterRef("pk")).order_by("-published_at").values("published_at")[:1]
    )
    return people.annotate(last_posted=Subquery(last_post)).order_by(
        "-profile__followers_count", F("last_posted").desc(nulls_last=True), "username"
    )


def suggestions_for(user: UserModel, limit: int = 20) -> list[Suggestion]:
    """Up to `limit` suggestions for `user`, in three queries whatever the limit.

    Friends of friends (followed by people the user follows) come first, by number of mutual
    follows then by followers; the rest are accounts sharing one of the user's interests, by
    followers, then by who posted publicly last.
    """
    following = Follow.objects.filter(follower=user, followed__is_active=True).values("followed_id")
    # filter() before annotate(): the count runs over the same join, so only mutual follows count.
    friends = list(
        _candidates(user)
        .filter(follower_set__follower__in=following)
        .annotate(mutual_count=Count("follower_set"))
        .order_by("-mutual_count", "-profile__followers_count", "username")[:limit]
    )
    mutuals: dict[UUID, list[str]] = {}
    if friends:
        ranked = (
            Follow.objects.filter(follower__in=following, followed__in=[u.pk for u in friends])
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=F("followed_id"),
                    order_by=[F("follower__profile__followers_count").desc(), F("follower__username").asc()],
                )
            )
            .filter(rank__lte=MUTUALS_SHOWN)
            .order_by("followed_id", "rank")
            .values_list("followed_id", "follower__username")
        )
        for followed_id, username in ranked:
            mutuals.setdefault(followed_id, []).append(username)
    suggestions = [Suggestion(u, FRIENDS_OF_FRIENDS, u.mutual_count, mutuals.get(u.pk, [])) for u in friends]

    if len(suggestions) < limit:
        interests = Profile.interests.through.objects.filter(profile__user=user).values("interest_id")
        shares = Profile.interests.through.objects.filter(profile_id=OuterRef("profile"), interest_id__in=interests)
        popular = _by_popularity(_candidates(user).filter(Exists(shares)).exclude(pk__in=[u.pk for u in friends]))[
            : limit - len(suggestions)
        ]
        suggestions += [Suggestion(u, SHARED_INTERESTS) for u in popular]
    return suggestions


def popular_accounts(viewer: UserModel | None, limit: int = 20, exclude: list[UUID] | None = None) -> list[UserModel]:
    """The most followed accounts (then those who posted publicly most recently), for a signed-out
    visitor or to fill a short list of suggestions: for a signed-in viewer, only accounts they could
    follow (as `suggestions_for`). One query (the last post's time read through the posts'
    author/published_at index)."""
    if viewer is not None and viewer.is_authenticated:
        people = _candidates(viewer)
    else:
        people = User.objects.visible_to(None).select_related("profile")
    if exclude:
        people = people.exclude(pk__in=exclude)
    return list(_by_popularity(people)[:limit])


def onboarding_suggestions(user: UserModel, limit: int = 12) -> list[Suggestion]:
    """Who /welcome/ offers: `suggestions_for` (friends of friends, then popular accounts sharing
    the user's interests), filled up with the most followed accounts. Four queries at most."""
    found = suggestions_for(user, limit)
    if len(found) < limit:
        more = popular_accounts(user, limit - len(found), exclude=[s.user.pk for s in found])
        found += [Suggestion(person, POPULAR) for person in more]
    return found
