"""DRF glue shared by every app's API: errors always carry a ``code``, filters never crash on odd ids.

Every error under ``/api/`` is JSON ``{"code", "detail"}`` (400s add ``errors`` per field): DRF's own
errors, the services' ``ServiceError``, and what Django raises before or around a view (an
oversized body, an unknown URL, a crash) through the ``handler*`` views named in ``instant/urls.py``.
"""
from __future__ import annotations

import logging
from datetime import timezone as dt_timezone
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import TooManyFilesSent
from django.db import DataError, models
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django_filters import fields as filter_fields
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import ServiceError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def _oversized(exc: Exception) -> tuple[int, dict[str, str]] | None:
    """Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (or too many fields/files) while
    parsing it; left alone that becomes Django's HTML 400 page."""
    if isinstance(exc, RequestDataTooBig):
        return 413, {"code": "request_too_large", "detail": "The request body is too large."}
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return 413, {"code": "request_too_large", "detail": "The request has too many fields or files."}
    return None


def _nul_refused(exc: Exception) -> bool:
    """PostgreSQL cannot store or compare text with NUL, and psycopg refuses such a parameter before
    sending the query (a ``DataError``). Wherever a value from the request reaches a query unchanged
    (a search, a filter, a field), that is the caller's bad input, not a crash. Caught here, where the
    value reached the database, rather than at the door: a NUL in a parameter a view ignores is
    harmless, and refusing it would be a 400 no schema documents."""
    return isinstance(exc, DataError) and "NUL (0x00)" in str(exc)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        body = {"code": exc.code, "detail": exc.detail}
        if getattr(exc, "errors", None):
            body["errors"] = exc.errors
        return Response(body, status=exc.status)
    oversized = _oversized(exc)
    if oversized is not None:
        status, body = oversized
        return Response(body, status=status)
    if isinstance(exc, SuspiciousOperation):
        return Response({"code": "bad_request", "detail": "The request was refused."}, status=400)
    if _nul_refused(exc):
        return Response({"code": "invalid_text", "detail": "Text may not contain NUL (0x00) characters."}, status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(data, dict) and "code" in data:
            return response
        detail = "; ".join(map(str, data)) if isinstance(data, list) else "Some fields are not valid."
        response.data = {"code": "invalid", "detail": detail, "errors": data}
        return response
    if isinstance(data, dict) and "code" not in data:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        code = codes.get("detail") if isinstance(codes, dict) else codes
        response.data = {"code": code if isinstance(code, str) else _code_for_status(response.status_code), **data}
    return response


def _code_for_status(status: int) -> str:
    return {400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found"}.get(
        status, "error"
    )


# ----- Django's own error views, JSON under /api/ ------------------------------------------------
def _json_error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    oversized = _oversized(exception) if exception is not None else None
    if oversized is not None:
        status, body = oversized
        return JsonResponse(body, status=status)
    return _json_error(400, "bad_request", "The request was refused.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _json_error(403, "permission_denied", "You do not have permission to perform this action.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _json_error(404, "not_found", "Not found.")


def server_error(request: HttpRequest) -> HttpResponse:
    if not _is_api(request):
        return defaults.server_error(request)
    return _json_error(500, "server_error", "Something went wrong on our side; it has been logged.")


# ----- filters -----------------------------------------------------------------------------------
# SQLite stores 64-bit integers and its driver raises OverflowError for anything larger. Django
# turns an out-of-range ``pk=`` into "no match", but not ``pk__in=``, which is what a repeatable
# relation filter (``?agents=1&agents=2``) runs.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _IdsField(filter_fields.ModelMultipleChoiceField):
    def _check_values(self, value):
        for pk in value if isinstance(value, (list, tuple, set, frozenset)) else ():
            try:
                number = int(str(pk))
            except ValueError:
                continue  # Django's own check names it an invalid value
            if not INT64_MIN <= number <= INT64_MAX:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


class IdsFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = _IdsField


class _InUTC:
    """A date-time filter value, read in UTC. Python takes UTC offsets up to ±23:59, PostgreSQL only
    up to ±15:59 (a 500 the fuzzer found: ``started_after=0076-04-04T22:10:18-20:09``); in UTC every
    offset works, and a moment that falls off the calendar in UTC is a 400."""

    def clean(self, value):
        value = super().clean(value)
        if value is not None and value.tzinfo is not None:
            try:
                value = value.astimezone(dt_timezone.utc)
            except OverflowError:
                raise forms.ValidationError("This date and time is out of range.", code="invalid") from None
        return value


class _UTCIsoDateTimeField(_InUTC, filter_fields.IsoDateTimeField):
    pass


class _UTCDateTimeField(_InUTC, forms.DateTimeField):
    pass


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = _UTCIsoDateTimeField


class DateTimeFilter(django_filters.DateTimeFilter):
    field_class = _UTCDateTimeField


class FilterSet(django_filters.FilterSet):
    """The base of every API filter set: relation filters that answer 400, never 500, to odd ids, and
    date-time filters read in UTC."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": DateTimeFilter},
        models.ManyToManyField: {**django_filters.FilterSet.FILTER_DEFAULTS[models.ManyToManyField], "filter_class": IdsFilter},
        models.ManyToManyRel: {**django_filters.FilterSet.FILTER_DEFAULTS[models.ManyToManyRel], "filter_class": IdsFilter},
        models.ManyToOneRel: {**django_filters.FilterSet.FILTER_DEFAULTS[models.ManyToOneRel], "filter_class": IdsFilter},
    }


class FilterBackend(DjangoFilterBackend):
    """``filterset_fields`` build on :class:`FilterSet` (``REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"]``)."""

    filterset_base = FilterSet

