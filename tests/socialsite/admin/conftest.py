from tests.accounts.admin.conftest import superuser, superuser_client  # noqa: F401  (fixtures, shared)
from tests.passwords import _fast_password_hashing  # noqa: F401  (autouse)
