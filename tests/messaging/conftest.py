import pytest

from accounts import services as accounts_services


@pytest.fixture
def send(client_for):
    """send(sender, content, to=user | conversation=id, **extra) -> the response."""

    def post(sender, content="hi", *, to=None, conversation=None, **extra):
        body = {"content": content, **extra}
        if to is not None:
            body["receiver_id"] = str(to.pk)
        if conversation is not None:
            body["conversation_id"] = str(conversation)
        return client_for(sender).post("/api/v1/messages", body, format="json")

    return post


@pytest.fixture
def block(django_capture_on_commit_callbacks):
    def make(blocker, blocked):
        with django_capture_on_commit_callbacks(execute=True):
            accounts_services.block_create(blocker=blocker, blocked_user_id=blocked.pk)

    return make
