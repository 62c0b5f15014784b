"""DRF glue shared by every app's API: errors always carry a ``code``."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import ServiceError


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        body = {"code": exc.code, "detail": exc.detail}
        if getattr(exc, "errors", None):
            body["errors"] = exc.errors
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if response.status_code == http.HTTP_400_BAD_REQUEST:
        if isinstance(data, dict) and "code" not in data:
            response.data = {"code": "invalid", "detail": "Some fields are not valid.", "errors": data}
        elif isinstance(data, list):
            response.data = {"code": "invalid", "detail": "; ".join(map(str, data)), "errors": data}
    elif isinstance(data, dict) and "code" not in data:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        code = codes.get("detail") if isinstance(codes, dict) else codes
        response.data = {"code": code if isinstance(code, str) else "error", **data}
    return response
