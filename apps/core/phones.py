"""Phone numbers: E.164, *possible* rather than *valid* (providers' +1 555 test numbers must pass).

The one place that decides what a phone number is. People type numbers into forms (``normalize_phone``);
providers write them on the wire as international digits, often without the "+" (Meta's
``"15551234567"``): ``international=True`` reads those. Each provider's own wrapping (Twilio's
``whatsapp:`` prefix, say) is peeled off by its backend before the number comes here.
"""
from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError

# What a phone number may be written with. phonenumbers itself also accepts letters (vanity numbers such
# as 1-800-FLOWERS) and extensions; neither exists on WhatsApp, and a letter usually means the value is
# something else altogether, such as a Meta business-scoped user id ("US.1000000000000000001").
_PHONE_CHARACTERS = re.compile(r"[0-9+\s().\-/]+")


def written_like_a_phone(text: str) -> bool:
    """Whether ``text`` has only what a phone number is written with (a search typed as a number)."""
    return bool(_PHONE_CHARACTERS.fullmatch(text))


def normalize_phone(raw: str, *, international: bool = False) -> str:
    """Return ``raw`` as E.164 (``+15550001111``) or raise ``ValueError`` saying what is wrong.

    The number must be international: a leading "+" or "00", or, with ``international=True``, bare
    digits that start with the country code (how WhatsApp APIs write numbers). We parse with no default
    region, so a national number is never silently given the server's country.
    """
    text = (raw or "").strip()
    if not text:
        raise ValueError("Enter a phone number.")
    if not written_like_a_phone(text):
        raise ValueError("A phone number has only digits, spaces and + ( ) - . / in it.")
    if text.startswith("00"):
        text = "+" + text[2:]
    elif international and not text.startswith("+"):
        text = "+" + text
    if not text.startswith("+"):
        raise ValueError("Enter the number in international format, starting with + and the country code.")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"Not a phone number: {exc}.") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError("This phone number is not possible: check the country code and the number of digits.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone_or_blank(raw: str, *, international: bool = False) -> str:
    """Like ``normalize_phone``, but "" for anything that is not a possible number."""
    try:
        return normalize_phone(raw, international=international)
    except ValueError:
        return ""



def known_region(code: str) -> str:
    """``code`` upper-cased if phonenumbers knows the region (ISO 3166 alpha-2, e.g. ``IT``), else ``ValueError``.

    phonenumbers' own list, not pycountry's: a country it has no metadata for could not parse a
    national number anyway. "001" (its non-geographic entities) is not a region anyone dials from.
    """
    text = (code or "").strip().upper()
    if text not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{code!r} is not a region phonenumbers knows: use an ISO 3166 alpha-2 code such as IT or US.")
    return text


def validate_region(code: str) -> None:
    """Django validator of ``known_region`` (blank is allowed: it means "the account number's region")."""
    if not code:
        return
    try:
        known_region(code)
    except ValueError as exc:
        raise ValidationError(str(exc), code="unknown_region") from exc
