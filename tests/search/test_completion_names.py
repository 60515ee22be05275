"""The names @mention autocomplete matches on the database backends (search.models.CompletionName):
kept by the index_user task after each commit that changes them, rebuilt by `reindex`, and
only ever a shortlist: who may be seen is decided again when the ids are loaded. With them,
the folded name keys near spellings match by (search.names.name_key), on every backend."""

import importlib
from io import StringIO
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from accounts import services as accounts_services
from accounts.models import User
from search.backends import backend
from search.models import CompletionName
from search.names import completion_names, name_key
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


@pytest.mark.parametrize(
    "spellings, key",
    [
        (["Nadiia", "Nadia", "Nadya", "Nadja", "Nadiya", "Nádia", "NADIA", "Надія", "Надя"], "nadia"),
        (["Nataliia", "Natalya", "Natalja", "Наталія", "Natália"], "natalia"),
        (["Sofiia", "Sofia", "Sophia", "Sofiya", "Софія"], "sofia"),
        (["Yana", "Iana", "Яна"], "iana"),
        (["Daria", "Darya", "Dar'ya", "Дар’я", "Dariia"], "daria"),
        (["Olga", "Ольга"], "olga"),  # anyascii writes the soft sign as an apostrophe
        (["Zoë Ångström", "Zoe  Angstrom", "zoë-ångström", "Zoë 🦊 Ångström"], "zoe angstrom"),
        (["Marta de la Cruz"], "marta de la cruz"),
    ],
)
def test_spellings_of_one_name_have_one_key(spellings, key):
    assert {name_key(spelling) for spelling in spellings} == {key}


@pytest.mark.parametrize(
    "names",
    [
        ("Nadia", "Nadine", "Nathan", "Nada"),
        ("Jana", "Yana"),  # a first J stays a J: English Jan and Jack aren't Ian and Yack
        ("Anna", "Ana"),  # doubled letters stay doubled: "ann" must not complete "Andrew"
    ],
)
def test_other_names_keep_other_keys(names):
    assert len({name_key(name) for name in names}) == len(names)


@pytest.mark.parametrize("text", ["", "🦊🦊", "!!! ???", "'’", None])
def test_text_without_letters_has_no_key(text):
    assert name_key(text) == ""


def test_the_keys_come_after_the_names_and_only_where_they_differ():
    assert completion_names("Marta_L", "Marta Lopez") == ["marta_l", "marta lopez", "lopez"]
    assert completion_names("nk", "Надія  Коваленко") == [
        "nk",
        "надія коваленко",
        "коваленко",
        "nadia kovalenko",
        "kovalenko",
    ]
    assert completion_names("nadja", "Nadja Berg") == ["nadja", "nadja berg", "berg", "nadia berg"]
    # Five names at most as written and five keys: the later words past those don't complete.
    many = completion_names("x", "Юлія Ярина Яна Юрій Ядвіга Ярослава")
    assert many == [
        "x",
        "юлія ярина яна юрій ядвіга ярослава",
        "ярина",
        "яна",
        "юрій",
        "iulia iarina iana iuri iadviga iaroslava",
        "iarina",
        "iana",
        "iuri",
        "iadviga",
    ]


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


def test_a_prefix_and_its_key_are_read_apart_and_merged_by_followers(
    api, client_for, act, django_assert_max_num_queries
):
    """ "ya" is also "ia" (search.names.name_key): each prefix is its own index scan, and the two
    lists merge most followed first, the people the viewer follows before them."""
    viewer = act(UserFactory, username="viewer")
    people = {}
    for username, name, followers in (("u1", "Yana Berg", 5), ("u2", "Iana Rossi", 9), ("u3", "Яна Ко", 7)):
        people[username] = act(UserFactory, username=username)
        act(accounts_services.profile_update, user=people[username], display_name=name)
        CompletionName.objects.filter(user=people[username]).update(followers_count=followers)
    act(accounts_services.follow_create, follower=viewer, followed_user_id=people["u1"].pk)
    client = client_for(viewer)
    with django_assert_max_num_queries(7):  # the viewer; followed and the rest, two each; the page
        assert completed(client, "ya") == ["u1", "u2", "u3"]
    assert completed(client, "ia") == ["u1", "u2", "u3"]
    assert completed(client, "ya", limit=2) == ["u1", "u2"]
    assert completed(api, "ya") == ["u2", "u3", "u1"]  # 9, 7 ("ia…" both), 5 ("ya…")
    assert completed(api, "ya", limit=1) == ["u2"]


def test_reindex_rebuilds_lost_names(api, act):
    act(UserFactory, username="kingfisher")
    nadia = act(UserFactory, username="nk")
    act(accounts_services.profile_update, user=nadia, display_name="Надія Коваленко")
    CompletionName.objects.all().delete()
    assert completed(api, "king") == completed(api, "nadja") == []
    out = StringIO()
    call_command("reindex", stdout=out)
    assert f"{backend().name}: indexed " in out.getvalue() and " completion names." in out.getvalue()
    assert completed(api, "king") == ["kingfisher"]
    assert completed(api, "nadja") == completed(api, "kov") == ["nk"]  # the keys too


def test_the_migration_adds_the_keys_of_existing_accounts(api, act):
    nadia = act(UserFactory, username="nk")
    act(accounts_services.profile_update, user=nadia, display_name="Nadiia Kovalenko")
    gone = act(UserFactory, username="nadja_gone")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    CompletionName.objects.filter(name__in=["nadia kovalenko"]).delete()  # as written before the keys
    assert completed(api, "nadya") == []
    migration = importlib.import_module("search.migrations.0003_completion_name_keys")
    migration.refill_completion_names(apps, SimpleNamespace(connection=connection))
    assert names_of(nadia) == {"nk": 0, "nadiia kovalenko": 0, "kovalenko": 0, "nadia kovalenko": 0}
    assert names_of(gone) == {}  # only active accounts, as `reindex`
    assert completed(api, "nadya") == ["nk"]


def test_any_script_and_case(api, act):
    person = act(UserFactory, username="zoe")
    act(accounts_services.profile_update, user=person, display_name="Zoë 🦊 Ångström")
    assert completed(api, "ÅNG") == ["zoe"]
    assert completed(api, "@zoë") == ["zoe"]
    assert completed(api, "🦊") == ["zoe"]
    assert completed(api, "angst") == completed(api, "zoe ang") == ["zoe"]  # without the accents
