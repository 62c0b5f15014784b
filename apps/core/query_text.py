"""A query string holding the NUL character is refused at the door (400 ``invalid_text``).

PostgreSQL stores no NUL in text, and psycopg refuses to send one, so a ``?search=a%00b`` reaching any
filter or search was a 500 (the fuzzer found it on ``queues/{id}/canned_answers/``). The JSON parser
refuses such text in bodies (``apps.core.parsers``); this middleware does the same for every query
string, once, instead of a check in each view that reads a parameter.
"""
from __future__ import annotations

from django.http import JsonResponse


class RefuseNulInQueryMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", ""):
            return JsonResponse(
                {"code": "invalid_text", "detail": "Text may not contain the NUL character (\\u0000)."}, status=400
            )
        return self.get_response(request)
