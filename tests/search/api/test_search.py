"""The search contract: the same tests for every backend that is configured (PostgreSQL in CI,
SQLite FTS5 in the embedded default; `make test` runs this file on both)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from media.models import Media
from posts import services as posts_services
from posts.models import Post
from search.backends import backend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/search"
COMPLETE = "/api/v1/search/autocomplete"


def found(response, key="id"):
    assert response.status_code == 200, response.content
    return [row[key] for row in response.json()["results"]]


def error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()["error"]
    if code:
        assert body["code"] == code
    return body


# --- Posts: word forms, phrases, ranking --------------------------------------------------------


def test_word_forms_and_phrases(api, ana, post_by):
    fox = post_by(ana, "the quick brown fox jumps over the lazy dog")
    post_by(ana, "a fox sleeps all day")
    post_by(ana, "nothing to see here")
    assert found(api.get(URL, {"query": "jumping fox"})) == [str(fox.pk)]
    assert found(api.get(URL, {"query": '"brown fox"'})) == [str(fox.pk)]
    assert found(api.get(URL, {"query": '"fox brown"'})) == []
    assert found(api.get(URL, {"query": "fox -lazy"})) != [str(fox.pk)]
    assert str(fox.pk) not in found(api.get(URL, {"query": "fox -lazy"}))


def test_relevance_first_then_recency(api, ana, post_by):
    for n in range(5):  # a word in every post says little (bm25's and ts_rank's idf): others exist
        post_by(ana, f"filler post {n}")
    older = post_by(ana, "otters")
    once = post_by(ana, "otters and a long story about rivers, stones, boats and other things entirely")
    newer = post_by(ana, "otters")
    Post.objects.filter(pk=older.pk).update(published_at=timezone.now() - timedelta(days=1))
    ids = found(api.get(URL, {"query": "otters"}))
    assert ids[:2] == [str(newer.pk), str(older.pk)]  # equally relevant: the newer first
    assert ids[2] == str(once.pk)  # the word is a smaller part of this one


def test_results_are_the_post_payload(api, ana, post_by):
    post = post_by(ana, "payload #shape check")
    [row] = api.get(URL, {"query": "payload"}).json()["results"]
    detail = api.get(f"/api/v1/posts/{post.pk}").json()
    assert row == detail


def test_edits_and_deletes_reach_the_index(api, ana, post_by, act):
    post = post_by(ana, "original wording")
    act(posts_services.post_update, post=post, editor=ana, content="changed wording")
    assert found(api.get(URL, {"query": "original"})) == []
    assert found(api.get(URL, {"query": "changed"})) == [str(post.pk)]
    act(posts_services.post_delete, post=post, actor=ana)
    assert found(api.get(URL, {"query": "changed"})) == []


# --- Posts: filters --------------------------------------------------------------------------------


def test_post_filters(api, ana, bo, post_by):
    by_ana = post_by(ana, "walrus one")
    by_bo = post_by(bo, "walrus two")
    Post.objects.filter(pk=by_bo.pk).update(published_at=timezone.now() - timedelta(days=10))
    Media.objects.create(owner=ana, post=by_ana, kind=Media.Kind.IMAGE, status=Media.Status.READY)
    Post.objects.filter(pk=by_ana.pk).update(content_type=Post.ContentType.IMAGE)

    def ids(**params):
        return set(found(api.get(URL, {"query": "walrus", **params})))

    assert ids() == {str(by_ana.pk), str(by_bo.pk)}
    assert ids(author="bo") == {str(by_bo.pk)}
    assert ids(author="@ana") == {str(by_ana.pk)}
    assert ids(author=str(bo.pk)) == {str(by_bo.pk)}
    assert ids(since=(timezone.now() - timedelta(days=2)).date().isoformat()) == {str(by_ana.pk)}
    assert ids(until=(timezone.now() - timedelta(days=5)).isoformat()) == {str(by_bo.pk)}
    assert ids(has_media="true") == {str(by_ana.pk)}
    assert ids(has_media="false") == {str(by_bo.pk)}
    assert ids(content_type="image") == {str(by_ana.pk)}
    assert ids(content_type="text") == {str(by_bo.pk)}


# --- Privacy ------------------------------------------------------------------------------------------


def test_private_account_posts_as_stranger_follower_and_owner(api, client_for, ana, bo, cy, post_by, follow, act):
    private = UserFactory(username="hermit", private=True)
    post = post_by(private, "secret garden")
    follow(bo, private)  # a request, until approved
    request_id = accounts_services.FollowRequest.objects.get(requester=bo).pk
    act(accounts_services.follow_request_approve, target=private, request_id=request_id)
    query = {"query": "garden"}
    assert found(api.get(URL, query)) == []  # anonymous
    assert found(client_for(cy).get(URL, query)) == []  # a stranger
    assert found(client_for(bo).get(URL, query)) == [str(post.pk)]  # a follower
    assert found(client_for(private).get(URL, query)) == [str(post.pk)]  # the owner
    # The account itself is findable, like any profile.
    assert found(client_for(cy).get(URL, {"query": "hermit", "type": "user"})) == [str(private.pk)]


def test_matches_the_viewer_may_not_see_do_not_hide_the_rest(client_for, cy, post_by):
    # More hidden matches rank above the visible one than a first look takes: it looks deeper.
    hermit = UserFactory(private=True)
    for _ in range(110):
        post_by(hermit, "owl owl owl")
    public = post_by(UserFactory(), "an owl among many other words of a much longer sentence")
    assert found(client_for(cy).get(URL, {"query": "owl"})) == [str(public.pk)]


def test_audiences_blocks_deletion_and_moderation(client_for, ana, bo, cy, post_by, follow, act):
    followers_only = post_by(ana, "heron followers", visibility="followers")
    mentioned = post_by(ana, "heron for @cy", visibility="mentioned")
    deleted = post_by(ana, "heron deleted")
    hidden = post_by(ana, "heron hidden")
    public = post_by(ana, "heron public")
    act(posts_services.post_delete, post=deleted, actor=ana)
    Post.objects.filter(pk=hidden.pk).update(hidden_at=timezone.now())
    follow(bo, ana)

    def ids(user):
        return set(found(client_for(user).get(URL, {"query": "heron"})))

    assert ids(bo) == {str(followers_only.pk), str(public.pk)}
    assert ids(cy) == {str(mentioned.pk), str(public.pk)}
    assert ids(ana) == {str(followers_only.pk), str(mentioned.pk), str(public.pk)}
    act(accounts_services.block_create, blocker=ana, blocked_user_id=cy.pk)
    assert ids(cy) == set()
    assert found(client_for(cy).get(URL, {"query": "ana", "type": "user"})) == []
    act(accounts_services.block_create, blocker=bo, blocked_user_id=ana.pk)  # the other way round
    assert ids(bo) == set()


# --- Users and hashtags ------------------------------------------------------------------------


def test_user_search_tolerates_typos_and_matches_prefixes(api, db):
    finch = UserFactory(username="zebrafinch")
    UserFactory(username="zebu")
    UserFactory(username="unrelated")
    assert found(api.get(URL, {"query": "zebrafnch", "type": "user"}))[0] == str(finch.pk)
    assert str(finch.pk) in found(api.get(URL, {"query": "zebra", "type": "user"}))
    assert found(api.get(URL, {"query": "@ZebraFinch", "type": "user"}))[0] == str(finch.pk)


def test_user_search_by_display_name_and_followed_by_me(client_for, ana, bo, follow):
    painter = UserFactory(username="u1")
    painter.profile.display_name = "Frida Painter"
    painter.profile.save()
    other = UserFactory(username="u2")
    other.profile.display_name = "Frida Sculptor"
    other.profile.save()
    follow(ana, painter)
    client = client_for(ana)
    assert set(found(client.get(URL, {"query": "frida", "type": "user"}))) == {str(painter.pk), str(other.pk)}
    assert found(client.get(URL, {"query": "frida", "type": "user", "followed_by_me": "true"})) == [str(painter.pk)]
    assert found(client.get(URL, {"query": "frida", "type": "user", "followed_by_me": "false"})) == [str(other.pk)]
    rows = client.get(URL, {"query": "frida painter", "type": "user"}).json()["results"]
    assert rows[0]["id"] == str(painter.pk) and rows[0]["followed_by_me"] is True


def test_deactivated_users_are_not_found(api, db):
    gone = UserFactory(username="vanished")
    gone.is_active = False
    gone.save()
    assert found(api.get(URL, {"query": "vanished", "type": "user"})) == []


def test_hashtag_search_and_counts(api, ana, post_by):
    post_by(ana, "#sunset again")
    post_by(ana, "#sunset and #sunrise")
    post_by(UserFactory(private=True), "#sunset in private")
    rows = api.get(URL, {"query": "#sunset", "type": "hashtag"}).json()["results"]
    assert rows[0] == {"name": "sunset", "posts_count": 2, "url": "/tags/sunset/"}
    assert "sunrise" in found(api.get(URL, {"query": "sun", "type": "hashtag"}), "name")
    assert found(api.get(URL, {"query": "sunst", "type": "hashtag"}), "name")[0] == "sunset"


def test_autocomplete_users_and_hashtags(client_for, ana, post_by, follow, act):
    known = act(UserFactory, username="marta")  # act: as at sign-up, indexed after the commit
    act(UserFactory, username="martina")
    follow(ana, known)
    client = client_for(ana)
    names = found(client.get(COMPLETE, {"query": "@mar"}), "username")
    assert names[0] == "marta" and "martina" in names  # the one you follow first
    assert found(client.get(COMPLETE, {"query": "MART", "limit": 1}), "username") == ["marta"]
    post_by(ana, "#mountains #mountainbike")
    assert set(found(client.get(COMPLETE, {"query": "#mount", "type": "hashtag"}), "name")) == {
        "mountains",
        "mountainbike",
    }
    assert found(client.get(COMPLETE, {"query": "#mountainb"}), "name") == ["mountainbike"]  # "#": hashtags
    assert found(client.get(COMPLETE, {"query": "mountainb", "type": "hashtag"}), "name") == ["mountainbike"]


def test_autocomplete_puts_people_you_follow_first_then_the_most_followed(client_for, ana, follow, act):
    people = {name: act(UserFactory, username=name) for name in ("mara", "marek", "mario", "marlo", "marta")}
    for name, followers in (("mara", 5), ("marek", 9), ("mario", 7), ("marlo", 1)):
        people[name].profile.followers_count = followers
        act(people[name].profile.save)
    follow(ana, people["marta"])
    act(accounts_services.block_create, blocker=people["mario"], blocked_user_id=ana.pk)  # mario blocks ana
    names = found(client_for(ana).get(COMPLETE, {"query": "mar", "limit": 4}), "username")
    assert names == ["marta", "marek", "mara", "marlo"]


def test_people_you_blocked_are_not_found_either(client_for, ana, act):
    """Blocks hide either way (docs/api.md): the blocker still found the blocked account."""
    nadia = act(UserFactory, username="nadia_b")
    client = client_for(ana)
    assert found(client.get(URL, {"query": "nadia_b", "type": "user"}), "username") == ["nadia_b"]
    act(accounts_services.block_create, blocker=ana, blocked_user_id=nadia.pk)
    assert found(client.get(URL, {"query": "nadia_b", "type": "user"}), "username") == []
    assert found(client.get(COMPLETE, {"query": "@nadia"}), "username") == []
    assert client.get(f"/api/v1/users/{nadia.pk}").status_code == 200  # the profile stays, to unblock


# --- Near spellings and other scripts of a name (search.names.name_key) -------------------------------

# username: display name. The usernames share nothing with the names, so only the names match.
NADIAS = {"kvl": "Nadiia Kovalenko", "ptr": "Nadia Petrova", "rch": "Nádia Rocha", "shv": "Надія Шевченко"}
OTHERS = {"okf": "Nadine Okafor", "brg": "Nathan Berg"}


@pytest.fixture
def named(act):
    """named(username, display name) -> the user, indexed as after sign-up and a profile edit."""

    def make(username, display_name):
        person = act(UserFactory, username=username)
        act(accounts_services.profile_update, user=person, display_name=display_name)
        return person

    return make


@pytest.mark.parametrize("text", ["nadya", "nadja", "nadia", "nadiia", "Nadiya", "NÁDIA", "Надя"])
def test_near_spellings_and_transliterations_of_a_name_find_each_other(api, named, text):
    people = {username: str(named(username, name).pk) for username, name in {**NADIAS, **OTHERS}.items()}
    ids = found(api.get(URL, {"query": text, "type": "user"}))
    assert set(ids[: len(NADIAS)]) == {people[username] for username in NADIAS}  # all, before anyone else
    # Nadine shares "nadi" and may follow as a near miss (pg_trgm's word similarity of "nadia"
    # and "nadine" is 0.67); Nathan is no spelling of the name and never shows.
    assert ids[len(NADIAS) :] in ([], [people["okf"]])


def test_a_spelling_and_the_surname_narrow_it_down(api, named):
    for username, name in {**NADIAS, **OTHERS}.items():
        named(username, name)
    assert found(api.get(URL, {"query": "nadja kovalenko", "type": "user"}), "username")[0] == "kvl"
    assert found(api.get(URL, {"query": "nadya shevchenko", "type": "user"}), "username")[0] == "shv"
    assert found(api.get(URL, {"query": "shevchenko", "type": "user"}), "username") == ["shv"]


def test_a_name_completes_by_its_prefix_in_any_spelling_or_script(client_for, ana, named):
    for username, name in {**NADIAS, **OTHERS}.items():
        named(username, name)
    client = client_for(ana)

    def completed(text):
        return set(found(client.get(COMPLETE, {"query": text}), "username"))

    assert completed("nad") == {*NADIAS, "okf"}  # not Nathan: "nat"
    assert completed("Над") == {*NADIAS, "okf"}  # Cyrillic: the same prefix
    assert completed("@nadya") == completed("nadiia") == set(NADIAS)
    assert completed("shev") == {"shv"}  # a later word, transliterated
    assert completed("nath") == {"brg"}


def test_near_spellings_keep_blocks_and_deactivations(client_for, ana, named, act):
    seen = named("kvl", NADIAS["kvl"])
    blocker = named("ptr", NADIAS["ptr"])
    blocked = named("rch", NADIAS["rch"])
    gone = named("shv", NADIAS["shv"])
    act(accounts_services.block_create, blocker=blocker, blocked_user_id=ana.pk)
    act(accounts_services.block_create, blocker=ana, blocked_user_id=blocked.pk)
    User.objects.filter(pk=gone.pk).update(is_active=False)  # no signal: its indexed names stay
    client = client_for(ana)
    for text in ("nadja", "nadia", "надя"):
        assert found(client.get(URL, {"query": text, "type": "user"})) == [str(seen.pk)]
    assert found(client.get(COMPLETE, {"query": "nad"}), "username") == ["kvl"]


# --- Paging ----------------------------------------------------------------------------------------------


def test_cursor_pages_do_not_overlap(api, ana, post_by):
    posts = [post_by(ana, f"puffin number {n}") for n in range(7)]
    first = api.get(URL, {"query": "puffin", "limit": 3}).json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()
    ids = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert sorted(ids) == sorted(str(post.pk) for post in posts)
    assert third["next"] is None and first["previous"] is None
    assert api.get(second["previous"]).json()["results"] == first["results"]


def test_a_page_runs_a_bounded_number_of_queries(api, ana, post_by, act, django_assert_max_num_queries):
    for n in range(25):
        post_by(ana, f"gannet #bird{n} @ana")
        act(UserFactory, username=f"andy{n}")
    with django_assert_max_num_queries(12):
        assert len(found(api.get(URL, {"query": "gannet", "limit": 20}))) == 20
    with django_assert_max_num_queries(6):
        found(api.get(URL, {"query": "bird", "type": "hashtag", "limit": 20}), "name")
    with django_assert_max_num_queries(6):
        assert len(found(api.get(COMPLETE, {"query": "an", "limit": 20}), "username")) == 20


# --- Bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, matches",
    [
        ("'; DROP TABLE posts_post; --", False),
        ("' OR 1=1 --", False),
        ('title:(fox AND "dog") OR body:*', False),
        ("fox~2 AND ^boost [a TO z] {!lucene}", False),
        ("!!fox & | <-> :* \\", True),
        ("🦊🦊", False),
        ("ünïcödé 日本語 fox", False),
    ],
)
def test_odd_text_is_just_text(api, ana, post_by, text, matches):
    post = post_by(ana, "the fox is here")
    assert found(api.get(URL, {"query": text})) == ([str(post.pk)] if matches else [])
    for kind in ("user", "hashtag"):
        found(api.get(URL, {"query": text, "type": kind}), "name" if kind == "hashtag" else "id")
    for kind in ("user", "hashtag"):
        found(api.get(COMPLETE, {"query": text, "type": kind}), "name" if kind == "hashtag" else "id")
    assert Post.objects.filter(pk=post.pk).exists()


def test_a_nul_character_is_a_400_on_every_engine(api):
    """Every query string with NUL is refused before any engine (socialsite.middleware)."""
    for url in (URL, COMPLETE):
        for kind in ("post", "user", "hashtag"):
            response = api.get(url, {"query": "fox\x00null", "type": kind})
            assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


def test_query_syntax_of_other_languages_finds_its_own_words(api, ana, post_by):
    sql = post_by(ana, "robert'); DROP TABLE students;--")
    lucene = post_by(ana, "title:(ünïcödé AND 日本語) 🦊")
    assert found(api.get(URL, {"query": "robert'); DROP TABLE students;--"})) == [str(sql.pk)]
    assert found(api.get(URL, {"query": "title:(ünïcödé AND 日本語)"})) == [str(lucene.pk)]


def test_bad_requests_are_400_in_the_envelope(api, settings):
    error(api.get(URL), 400, "query_required")
    error(api.get(URL, {"query": "   "}), 400, "query_required")
    error(api.get(URL, {"query": "x" * (settings.SEARCH_QUERY_MAX + 1)}), 400, "query_too_long")
    assert error(api.get(URL, {"query": "a", "type": "place"}), 400, "invalid")["fields"]["type"]
    assert error(api.get(URL, {"query": "a", "colour": "red"}), 400, "invalid")["fields"]["colour"]
    assert error(api.get(URL, {"query": "a", "type": "user", "author": "bo"}), 400)["fields"]["author"]
    assert error(api.get(URL, {"query": "a", "followed_by_me": "true"}), 400)["fields"]["followed_by_me"]
    error(api.get(URL, {"query": "a", "type": "user", "followed_by_me": "true"}), 400)  # anonymous
    error(api.get(URL, {"query": "a", "author": "nobody-here"}), 400)
    error(api.get(URL, {"query": "a", "since": "yesterday"}), 400)
    error(api.get(URL, {"query": "a", "since": "2026-02-01", "until": "2026-01-01"}), 400)
    error(api.get(URL, {"query": "a", "has_media": "maybe"}), 400)
    error(api.get(URL, {"query": "a", "content_type": "poem"}), 400)
    error(api.get(URL, {"query": "a", "limit": "0"}), 400)
    error(api.get(URL, {"query": "a", "limit": "null"}), 400)
    error(api.get(URL, {"query": "a", "cursor": "not-a-cursor"}), 400)
    error(api.get(URL, {"query": "a", "cursor": "eyJvIjogLTF9"}), 400)  # {"o": -1}
    error(api.get(COMPLETE), 400, "query_required")
    error(api.get(COMPLETE, {"query": "a", "type": "post"}), 400)
    error(api.get(COMPLETE, {"query": "a", "when": "now"}), 400)


def test_search_is_rate_limited(api, monkeypatch):
    from django.core.cache import cache

    from search.api.views import SearchThrottle

    cache.clear()
    monkeypatch.setattr(SearchThrottle, "THROTTLE_RATES", {"search": "3/m"})
    codes = [api.get(URL, {"query": "a"}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    error(api.get(COMPLETE, {"query": "a"}), 429, "throttled")


def test_the_backend_is_the_databases_own(settings):
    from django.db import connection

    assert backend().name == ("postgres" if connection.vendor == "postgresql" else "sqlite")
