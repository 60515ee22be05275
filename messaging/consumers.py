"""Socket actions for direct messages: send, delivered receipts, typing.

Each handler parses its frame and calls a service; services decide who hears about it and send
the events after commit. The services run on the executor's thread pool rather than channels'
one shared database thread, so one socket's send doesn't queue behind every other socket's
(each socket's frames are still handled in order).
"""

from messaging import selectors, services, viewing
from socialsite.params import parse_uuid
from socialsite.realtime.consumers import ActionError, register_action, register_disconnect
from socialsite.realtime.threads import in_thread_pool


def _text(data, name, *, required=True):
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise ActionError("invalid", f'"{name}" must be a non-empty string.')
    return value


def _send(**kwargs):
    """The send and its payload (which may read the message's reactions) on the same thread."""
    message, created = services.message_send(**kwargs)
    return services.message_payload(message, for_sender=True), created


@register_action("message.send")
async def message_send(consumer, data):
    """{"conversation_id", "content", "client_id"?, "reply_to"?} -> {"event": "message.sent", "data": <message>}."""
    payload, created = await in_thread_pool(_send)(
        sender=consumer.user,
        conversation_id=_text(data, "conversation_id"),
        content=data.get("content"),
        client_id=_text(data, "client_id", required=False) or "",
        reply_to=_text(data, "reply_to", required=False),
    )
    return {"event": "message.sent", "data": {**payload, "replayed": not created}}


@register_action("message.react")
async def message_react(consumer, data):
    """{"message_id", "emoji", "on"?: true} -> {"event": "message.reacted", "data": {"message_id",
    "reactions", "changed"}}; `on: false` takes the reaction off. Members get `message.reaction`."""
    on = data.get("on", True)
    if not isinstance(on, bool):
        raise ActionError("invalid", '"on" must be true or false.')
    react = services.message_react if on else services.message_unreact
    message, changed = await in_thread_pool(react)(
        user=consumer.user, message_id=_text(data, "message_id"), emoji=data.get("emoji")
    )
    reactions = selectors.reaction_summary(message, consumer.user.pk)
    return {
        "event": "message.reacted",
        "data": {"message_id": str(message.pk), "reactions": reactions, "changed": changed},
    }


@register_action("message.delivered")
async def message_delivered(consumer, data):
    """{"conversation_id", "message_id"}: this client received messages up to that one."""
    await in_thread_pool(services.conversation_delivered)(
        user=consumer.user, conversation_id=_text(data, "conversation_id"), message_id=_text(data, "message_id")
    )


async def _typing(consumer, data, state):
    await in_thread_pool(services.typing)(
        user=consumer.user, conversation_id=_text(data, "conversation_id"), state=state
    )


@register_action("typing.start")
async def typing_start(consumer, data):
    await _typing(consumer, data, "start")


@register_action("typing.stop")
async def typing_stop(consumer, data):
    await _typing(consumer, data, "stop")


def _switch_view(user, before, after, socket_id):
    if after is not None:
        selectors.membership_for(user, after)  # a non-member gets not_found, as over REST
    if before is not None and before != after:
        viewing.leave(user.pk, before, socket_id)
    if after is not None:
        viewing.view(user.pk, after, socket_id)


@register_action("conversation.view")
async def conversation_view(consumer, data):
    """{"conversation_id": id | null}: this socket shows that conversation now (null: none).
    Its members get no `message` notification while they look at it."""
    after = data.get("conversation_id")
    if after is not None:
        after = str(parse_uuid(_text(data, "conversation_id"), "No such conversation."))
    await in_thread_pool(_switch_view)(consumer.user, getattr(consumer, "viewing", None), after, consumer.channel_name)
    consumer.viewing = after


@register_disconnect
async def stop_viewing(consumer):
    if getattr(consumer, "viewing", None) is not None:
        await in_thread_pool(viewing.leave)(consumer.user.pk, consumer.viewing, consumer.channel_name)
