"""The logging configuration (settings.py reads it from here): one line per event, JSON or
plain text, each with the request id (or the id of the request that queued a task). The SendGrid
client never logs headers, so no key reaches a log."""

from __future__ import annotations


def logging_settings(*, level: str, fmt: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
                "rename_fields": {
                    "asctime": "time",
                    "levelname": "level",
                    "name": "logger",
                    "correlation_id": "request_id",
                },
            },
            "plain": {
                "format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s %(message)s"
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if fmt == "json" else "plain",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # requests/urllib3 log URLs only, never headers; keep them quiet anyway.
            "urllib3": {"level": "WARNING"},
        },
    }
