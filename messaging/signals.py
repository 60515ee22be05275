"""Signals other apps listen to, sent explicitly by messaging.services (never from save()).

messaging sits beside posts, below notifications, so it can't call them; notifications connects
its receivers in its AppConfig.ready. Receivers run inside the sender's transaction and must
defer real work to `transaction.on_commit`.
"""

from django.dispatch import Signal

# A message went into a conversation. message=Message
message_sent = Signal()

# Members were added to a group, or an admin removed one: message=Message, the system line
# (kind "added" or "removed"; its `system` names the actor and the members). Not for leaving.
group_membership_changed = Signal()
