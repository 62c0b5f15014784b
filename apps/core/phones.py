"""Phone numbers: E.164, *possible* rather than *valid* (providers' +1 555 test numbers must pass)."""
from __future__ import annotations

import phonenumbers


def normalize_phone(raw: str) -> str:
    """Return ``raw`` as E.164 (``+15550001111``) or raise ``ValueError`` saying what is wrong.

    The number must be international: a leading "+" or "00". We parse with no default region, so a
    national number is never silently given the server's country.
    """
    text = (raw or "").strip()
    if not text:
        raise ValueError("Enter a phone number.")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        raise ValueError("Enter the number in international format, starting with + and the country code.")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"Not a phone number: {exc}.") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError("This phone number is not possible: check the country code and the number of digits.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
