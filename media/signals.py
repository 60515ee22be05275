"""Signals sent by media services (never from save()), for the apps above that attach media.

media sits below posts (and, next, messaging and stories), so it can't call them. Receivers run
inside the sender's transaction and queue their work through the outbox (socialsite.outbox).
"""

from django.dispatch import Signal

# A media item attached to something finished processing, ready or failed, in this transaction.
# media=Media (its post_id is set)
media_settled = Signal()
