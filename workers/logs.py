"""Log output for every process (CLI, API, workers): text lines or JSON lines
(SWESCRIBE_LOG_FORMAT), and a filter that keeps query strings out of the API's access log.

What the service logs at INFO and above names jobs, keys and stages by id, never transcript
text, summaries, file names or case references (tests/integration/test_service.py checks the
logs of a whole job). The access log is the one place a caller's own words could reach: a
query string such as ?reference=..., so it is cut off there.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class DropQueryString(logging.Filter):
    """uvicorn's access records carry (client, method, path with query, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def configure(level: int, log_format: str = "text") -> None:
    """The root logger's one handler, on stderr, in the chosen format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def uvicorn_log_config(log_format: str = "text") -> dict:
    """uvicorn's own logging configuration with the access log's query strings dropped and, for
    JSON, both of its handlers writing JSON lines."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["drop_query"] = {"()": DropQueryString}
    config["handlers"]["access"]["filters"] = ["drop_query"]
    if log_format == "json":
        config["formatters"]["default"] = {"()": JsonFormatter}
        config["formatters"]["access"] = {"()": JsonFormatter}
    return config
