"""The API's JSON parser (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``), in a module of its own:
DRF imports it while reading its settings, so it must not import what reads them."""
from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing text a database cannot store. JSON may carry ``\\u0000`` and lone
    surrogate halves (``\\ud94b``); PostgreSQL stores neither (a 500 the fuzzer found in a contact
    list's custom fields), so a body holding one is a 400 ``invalid_text`` before any view sees it."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_text(data)
        return data


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise _InvalidText("Text may not contain the NUL character (\\u0000).")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _InvalidText("Text may not contain a lone UTF-16 surrogate (\\ud800-\\udfff).") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class _InvalidText(exceptions.ParseError):
    default_code = "invalid_text"
