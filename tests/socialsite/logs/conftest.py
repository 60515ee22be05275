import io
import json
import logging

import pytest

from socialsite.logs import logging_config


@pytest.fixture
def json_log():
    """json_log() -> the JSON lines logged so far, parsed; through the formatter LOG_FORMAT=json sets up."""
    formatter_config = dict(logging_config("json", "INFO")["formatters"]["json"])
    factory = formatter_config.pop("()")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(factory(**formatter_config))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
