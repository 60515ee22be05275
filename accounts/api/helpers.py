"""What the API views of accounts and the apps above it share about accounts."""

from rest_framework.exceptions import NotAuthenticated

from accounts import selectors


def user_from_path(request, user_id):
    """The account a path names ("me" or an id), as the caller may see it; else 404 (401 for an
    anonymous "me")."""
    if user_id == "me":
        if not request.user.is_authenticated:
            raise NotAuthenticated("Sign in to see your own account.")  # 401, as every endpoint's
        user_id = request.user.pk
    return selectors.user_get(viewer=request.user, user_id=user_id)
