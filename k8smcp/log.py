"""Logging set-up: always to stderr, because stdout carries MCP over stdio.

Two formats: ``text`` for people, ``json`` (one object a line) for log pipelines. Audit
lines (logger ``k8smcp.audit``) are JSON already; in the json format they are embedded
as an object, not as a string.
"""

from __future__ import annotations

import json
import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and the audit record)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        from datetime import UTC, datetime  # only the json format needs it

        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        message = record.getMessage()
        if record.name == "k8smcp.audit":
            entry["audit"] = json.loads(message)
        else:
            entry["message"] = message
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send every k8smcp, uvicorn and SDK log line to stderr at ``level``, as ``fmt``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # the HTTP clients log every request at INFO; that is noise for a CLI
    for noisy in ("httpx", "httpx2", "httpcore", "mcp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
