"""Request ids in logs, from the request to the Celery tasks it starts.

`RequestIdMiddleware` gives every request an id (the caller's `X-Request-ID` when it looks like
one, else a new one), answers it in `X-Request-ID`, and keeps it in a context variable for the
request's duration. `RequestIdFilter` writes it on every log record (`request_id`), so the
JSON logs of production (settings.LOGGING, DJANGO_LOG_FORMAT=json) can be searched by it.
A task published while a request runs carries the id in a message header, and the worker
sets it again while the task runs (connected in CadcamConfig.ready): its log lines share it.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")

HEADER = "X-Request-ID"
CELERY_HEADER = "cadcam_request_id"
_ACCEPTED = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        value = given if _ACCEPTED.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(value)
        request.request_id = value
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response[HEADER] = value
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (empty outside a request or task) to every record, and drops the
    `data` Celery attaches to its task records: the task's arguments, e-mail bodies with
    sign-in and password links among them, must never reach a log."""

    def filter(self, record):
        record.request_id = request_id.get()
        record.__dict__.pop("data", None)
        return True


def breadcrumb_without_extras(crumb, hint):
    """Sentry's before_breadcrumb: log breadcrumbs keep their message, not the record's extras
    (Celery's task arguments)."""
    if crumb.get("category") != "httplib":
        crumb.pop("data", None)
    return crumb


# --- Celery: the id travels in the task message -----------------------------------------------


def task_published(headers=None, **kwargs):
    """before_task_publish: a task sent during a request carries its id."""
    current = request_id.get()
    if current and headers is not None:
        headers.setdefault(CELERY_HEADER, current)


_task_tokens: dict[str, object] = {}


def task_started(task_id=None, task=None, **kwargs):
    """task_prerun: the worker logs the task under the id of the request that sent it."""
    # Celery makes a message's own headers attributes of the task's request.
    value = getattr(task.request, CELERY_HEADER, None) if task is not None else None
    if value and task_id:
        _task_tokens[task_id] = request_id.set(value)


def task_finished(task_id=None, **kwargs):
    """task_postrun: back to no id."""
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        request_id.reset(token)
