"""The account rows the benchmark commands (bench_feed, bench_notifications, bench_search) build,
inserted fast with socialsite.benchmarks.copy_rows."""

from accounts.models import Profile, User
from socialsite.benchmarks import copy_rows

UNUSABLE_PASSWORD = "!bench-unusable"  # noqa: S105 -- marks the password unusable, no secret
# The column order of the account rows the benchmarks build (insert_accounts).
USER_COLUMNS = [
    "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
    "is_staff", "is_active", "date_joined", "phone", "phone_verified", "last_active", "deactivated_at",
]  # fmt: skip
PROFILE_COLUMNS = [
    "user", "display_name", "bio", "avatar", "profile_info", "is_private", "followers_count", "following_count",
    "updated_at",
]  # fmt: skip


def insert_accounts(user_rows, profile_rows):
    """Users and their profiles, rows in USER_COLUMNS and PROFILE_COLUMNS order."""
    copy_rows(User, USER_COLUMNS, user_rows)
    copy_rows(Profile, PROFILE_COLUMNS, profile_rows)
