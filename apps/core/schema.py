"""The OpenAPI schema documents the errors an operation can answer, each as the one ``Error`` body.

drf-spectacular documents only the success response; clients (and schemathesis) must also be
told which 4xx codes to expect. They come from DRF and the services alike, so they are added
here by what an operation is, not listed view by view.
"""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions

from .api_serializers import ErrorSerializer

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
DESCRIPTIONS = {
    "400": "Invalid input: `code` names the reason, `errors` lists the fields at fault.",
    "401": "No or bad credentials (`not_authenticated`, `authentication_failed`).",
    "403": "Not allowed to the caller (`permission_denied` or a service's own code).",
    "404": "No such object, not visible to the caller, or no such page.",
    "409": "A state conflict (`already_taken`, `window_closed`, `last_admin`, ...).",
    "413": "The request body is too large (`request_too_large`).",
    "415": "Unsupported request content type (`unsupported_media_type`).",
}


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> list[str]:
        public = all(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())
        has_body = self.method in BODY_METHODS and self.get_request_serializer() is not None
        codes = []
        if self.method != "GET" or self.get_filter_backends() or self._is_list_view() or self._takes_query():
            codes.append("400")
        if not public:
            codes += ["401", "403"]
        if "{" in self.path or self._is_list_view():
            codes.append("404")  # a list answers 404 to a page past its end
        if self.method not in ("GET", "HEAD", "OPTIONS") and not public:
            codes.append("409")
        if has_body:
            codes += ["413", "415"]
        return codes

    def _takes_query(self) -> bool:
        """Declares query parameters of its own (``@extend_schema(parameters=...)``): a value there can
        be refused (e.g. ``invalid_text``, a NUL that PostgreSQL will not compare)."""
        return any(getattr(p, "location", None) == "query" for p in self.get_override_parameters())

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = DESCRIPTIONS[code]
                responses[code] = response
        return responses
