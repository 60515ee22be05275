import pytest

from messaging import services


@pytest.fixture(autouse=True)
def _no_send_limit(settings):
    # Some tests send more than the per-minute limit from one account.
    settings.THROTTLE_MESSAGE = "10000/m"


@pytest.fixture
def say():
    """say(sender, content, to=user | conversation=id) -> the message, through the service."""

    def send(sender, content="hi", *, to=None, conversation=None):
        if to is not None:
            message, _ = services.message_send(sender=sender, receiver_id=to.pk, content=content)
        else:
            message, _ = services.message_send(sender=sender, conversation_id=conversation, content=content)
        return message

    return send


@pytest.fixture
def group():
    """group(creator, *members, title="") -> the conversation id."""

    def make(creator, *members, title=""):
        membership = services.conversation_group_create(
            creator=creator, title=title, member_ids=[str(member.pk) for member in members]
        )
        return membership.conversation_id

    return make
