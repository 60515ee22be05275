"""docs/architecture.md names every explicit signal the lower apps send (its signal table)."""

from pathlib import Path

import pytest
from django.conf import settings
from django.dispatch import Signal

from accounts import signals as accounts_signals
from media import signals as media_signals
from messaging import signals as messaging_signals
from posts import signals as posts_signals

ARCHITECTURE = Path(settings.BASE_DIR) / "docs" / "architecture.md"


@pytest.mark.parametrize(
    "module", [accounts_signals, media_signals, posts_signals, messaging_signals], ids=lambda m: m.__name__
)
def test_every_signal_is_in_the_architecture_table(module):
    text = ARCHITECTURE.read_text()
    names = [name for name, value in vars(module).items() if isinstance(value, Signal)]
    assert names
    missing = [name for name in names if f"`{name}`" not in text and f".{name}`" not in text]
    assert not missing, f"{module.__name__}: add {missing} to the signal table in docs/architecture.md"
