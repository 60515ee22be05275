"""Signals other apps listen to, sent explicitly by posts services (never from save()).

posts sits below feeds, notifications and search, so it can't call them; they connect
receivers in their AppConfig.ready. Receivers run inside the sender's transaction and queue
their work through the outbox (socialsite.outbox), which publishes it after the commit.
"""

from django.dispatch import Signal

# A post became visible to its audience: published at once, after its media, or restored. post=Post
post_published = Signal()
# The author changed a post's text or audience. post=Post
post_edited = Signal()
# A post's photo or video failed processing, so the post will never be published. post=Post
post_failed = Signal()
# A published post stopped being visible: deleted by its author, hidden or removed. post=Post
post_withdrawn = Signal()
# A like was made, or taken back. user_id, post_id
post_liked = Signal()
post_unliked = Signal()
# A comment or reply was posted. comment=Comment, mentioned_ids=[user ids it @mentions]
comment_posted = Signal()
# A moderator warned an account, or hid or removed a post or comment: its owner is told why.
# action=ModerationAction (its user is the person acted on)
moderation_taken = Signal()
# A moderator decided an appeal (upheld or reversed): the appellant is told. appeal=Appeal
appeal_decided = Signal()
