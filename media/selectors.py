"""Reads for media."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from media.models import Media
from socialsite.errors import NotFoundError

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def media_get_owned(*, user: User | AnonymousUser, media_id: uuid.UUID) -> Media:
    """The caller's own media item; anyone else's answers 404."""
    media = Media.objects.filter(pk=media_id, owner=user).first() if user.is_authenticated else None
    if media is None:
        raise NotFoundError("No such media.")
    return media
