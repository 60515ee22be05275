"""The names @mention autocomplete matches on the database backends (search.models.CompletionName):
kept by the index_user task after each commit that changes them, rebuilt by `reindex`, and
only ever a shortlist: who may be seen is decided again when the ids are loaded."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts import services as accounts_services
from accounts.models import User
from search.backends import backend
from search.models import CompletionName
from socialsite.models import OutboxMessage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
COMPLETE = "/api/v1/search/autocomplete"


def names_of(user):
    return dict(CompletionName.objects.filter(user=user).values_list("name", "followers_count"))


def completed(client, text, limit=8):
    response = client.get(COMPLETE, {"query": text, "limit": limit})
    assert response.status_code == 200, response.content
    return [row["username"] for row in response.json()["results"]]


def test_sign_up_profile_edits_and_follows_keep_the_names(act, follow):
    marta = act(UserFactory, username="Marta_L")
    fan = act(UserFactory, username="fan")
    assert names_of(marta) == {"marta_l": 0}
    act(accounts_services.profile_update, user=marta, display_name="  Marta   de la Cruz ")
    assert names_of(marta) == {"marta_l": 0, "marta de la cruz": 0, "de": 0, "la": 0, "cruz": 0}
    act(accounts_services.profile_update, user=marta, display_name="Marta Lopez")
    assert names_of(marta) == {"marta_l": 0, "marta lopez": 0, "lopez": 0}  # the old ones are gone
    follow(fan, marta)
    assert set(names_of(marta).values()) == {1}
    act(accounts_services.follow_delete, follower=fan, followed_user_id=marta.pk)
    assert set(names_of(marta).values()) == {0}


def test_deactivated_and_deleted_accounts_leave(act):
    gone, deleted = act(UserFactory, username="gone"), act(UserFactory, username="deleted")
    gone.is_active = False
    act(gone.save)
    assert names_of(gone) == {}
    act(deleted.delete)
    assert not CompletionName.objects.filter(name="deleted").exists()


def test_a_stale_name_never_shows_whom_the_viewer_may_not_see(api, client_for, act):
    quiet = act(UserFactory, username="quietly")
    blocker = act(UserFactory, username="quietus")
    viewer = act(UserFactory, username="viewer")
    User.objects.filter(pk=quiet.pk).update(is_active=False)  # no signal: the name stays
    accounts_services.block_create(blocker=blocker, blocked_user_id=viewer.pk)
    assert CompletionName.objects.filter(name__startswith="quiet").count() == 2
    assert completed(api, "quiet") == ["quietus"]
    assert completed(client_for(viewer), "quiet") == []


def test_someone_matching_by_several_names_counts_once(api, act):
    # Each matches "lop" three ways (username, display name, its second word): the first rows
    # read hold fewer than 4 people, so more are read.
    for n in range(5):
        person = act(UserFactory, username=f"lopez{n}")
        act(accounts_services.profile_update, user=person, display_name=f"Lopez{n} Lopez")
    assert len(completed(api, "lop", limit=4)) == 4
    assert sorted(completed(api, "lop", limit=8)) == [f"lopez{n}" for n in range(5)]


def test_only_changes_to_the_names_or_their_order_queue_a_task(ana, bo):
    def queued(change):  # on_commit callbacks don't run here: the tasks stay in the outbox
        tasks = OutboxMessage.objects.filter(task="search.tasks.index_user")
        before = tasks.count()
        change()
        return tasks.count() - before

    assert queued(lambda: accounts_services.profile_update(user=ana, display_name="Ana L")) == 1
    assert queued(lambda: accounts_services.follow_create(follower=bo, followed_user_id=ana.pk)) == 1
    assert queued(lambda: accounts_services.follow_delete(follower=bo, followed_user_id=ana.pk)) == 1
    assert queued(lambda: ana.save(update_fields=["last_login"])) == 0
    assert queued(lambda: UserFactory(username="newcomer")) == 2  # the user row, then its profile


def test_reindex_rebuilds_lost_names(api, act):
    act(UserFactory, username="kingfisher")
    CompletionName.objects.all().delete()
    assert completed(api, "king") == []
    out = StringIO()
    call_command("reindex", stdout=out)
    assert f"{backend().name}: indexed " in out.getvalue() and " completion names." in out.getvalue()
    assert completed(api, "king") == ["kingfisher"]


def test_any_script_and_case(api, act):
    person = act(UserFactory, username="zoe")
    act(accounts_services.profile_update, user=person, display_name="Zoë 🦊 Ångström")
    assert completed(api, "ÅNG") == ["zoe"]
    assert completed(api, "@zoë") == ["zoe"]
    assert completed(api, "🦊") == ["zoe"]
