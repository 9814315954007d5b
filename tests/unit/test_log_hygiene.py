"""Log output: JSON lines, the access log without query strings, summary errors without the
model's answer."""

from __future__ import annotations

import json
import logging
import logging.config

from workers.logs import DropQueryString, JsonFormatter, uvicorn_log_config
from workers.summary.client import LlmOutputError, LlmRejectedError, LlmUnavailableError, loggable


def _record(msg: str, args: tuple, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, exc_info)


def test_json_lines_carry_time_level_logger_and_message():
    try:
        raise ValueError("trasig")
    except ValueError:
        import sys

        record = _record("job %s: %s", ("abc", "klar"), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == ("INFO", "uvicorn.access", "job abc: klar")
    assert line["time"].endswith("+00:00") and "ValueError: trasig" in line["exception"]


def test_the_access_log_drops_query_strings():
    record = _record('%s - "%s %s HTTP/%s" %d', ("10.0.0.1:5", "GET", "/v1/admin/jobs?reference=19121212-1212", "1.1", 200))
    assert DropQueryString().filter(record)
    assert record.getMessage() == '10.0.0.1:5 - "GET /v1/admin/jobs HTTP/1.1" 200'
    config = uvicorn_log_config("json")
    assert config["handlers"]["access"]["filters"] == ["drop_query"]
    assert config["formatters"]["access"] == {"()": JsonFormatter}
    logging.config.dictConfig(uvicorn_log_config("text"))  # a configuration uvicorn can load


def test_summary_errors_are_logged_without_the_models_answer():
    answer = "Mötet beslutade att Anna Svensson (19121212-1212) får bistånd"
    assert "19121212" not in loggable(LlmOutputError(f"the model's answer is not JSON: {answer!r}"))
    assert "19121212" not in loggable(LlmRejectedError(f"refused (400): {answer}"))
    assert loggable(LlmUnavailableError("connection refused")) == "connection refused"
