"""Signals other apps listen to, sent explicitly by accounts.services (never from save()).

accounts sits below feeds and notifications, so it can't call them; they connect receivers in
their AppConfig.ready. Receivers run inside the sender's transaction and must defer real work
to `transaction.on_commit`.
"""

from django.dispatch import Signal

# kind: "follow" | "unfollow" | "block" | "unblock" | "mute" | "unmute"; user_id acts on other_id.
# A follow made by approving a request has via_request=True.
relationship_changed = Signal()
# requester_id asked to follow the private account target_id.
follow_requested = Signal()
# That request is gone: approved, rejected, withdrawn or ended by a block. requester_id, target_id
follow_request_closed = Signal()
# user_id was deactivated (deleted by its owner), inside that transaction: what others show of it
# (counters of likes, comments, shares) moves there too.
account_deactivated = Signal()
# A moderator suspended user (accounts.services.user_suspend) or lifted it (user_unsuspend), inside
# that transaction: user=User, moderator=User, reason=str, report=whatever the caller acted on
# (posts passes its Report; accounts only forwards it). posts records the audit row.
account_suspended = Signal()
account_unsuspended = Signal()
