"""CSV import (column mapping, a report of rejected rows) and export of a filtered view."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from apps.core.exceptions import Invalid
from apps.users.models import User

from ..models import Contact, ContactList, Tag
from .common import FIELDS, _audit, _clean_fields, _require_edit, clean_custom_fields


IMPORTABLE = (*FIELDS[:5], "tags")


def contact_import_csv(
    *, user: User | None, contact_list_id: int, content: bytes | str, mapping: dict[str, str] | None = None
) -> dict[str, Any]:
    """Import a CSV into a list: ``mapping`` maps a CSV column to ``first_name``, ``last_name``,
    ``phone``, ``email``, ``company``, ``tags`` (names, ``;``-separated) or ``custom.<key>``; with no
    mapping a column named like a field maps to it. Each row is validated as an API write would be;
    rows that fail are reported (``{"row", "errors"}``, row 2 being the first after the header) and
    the others are created in one transaction."""
    text = content.decode("utf-8-sig", errors="replace") if isinstance(content, bytes) else content
    if "\x00" in text:
        raise Invalid("invalid_csv", "file: not a CSV file.")
    reader = csv.DictReader(io.StringIO(text))
    try:
        columns = reader.fieldnames or []
    except csv.Error as exc:
        raise Invalid("invalid_csv", f"file: not a CSV file ({exc}).") from None
    with transaction.atomic(durable=True):
        contact_list = ContactList.objects.filter(pk=contact_list_id).first()
        if contact_list is None:
            raise Invalid("unknown_list", "No such contact list.")
        _require_edit(user, contact_list_id)
        keys = set(contact_list.custom_fields.values_list("key", flat=True))
        if mapping is None:
            mapping = {c: c.strip().lower() for c in columns if c.strip().lower() in IMPORTABLE or c.strip() in keys}
            mapping.update({c: f"custom.{c.strip()}" for c in columns if c.strip() in keys})
        for column, target in mapping.items():
            if column not in columns:
                raise Invalid("unknown_column", f"The CSV has no column {column!r}.")
            if target not in IMPORTABLE and not (target.startswith("custom.") and target[7:] in keys):
                raise Invalid("unknown_field", f"{target!r} is not a contact field of this list.")
        tags_by_name = {t.name.lower(): t for t in Tag.objects.all()}
        created, rejected = 0, []
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise Invalid("invalid_csv", f"file: not a CSV file ({exc}).") from None
        for number, row in enumerate(rows, start=2):
            data: dict[str, Any] = {"custom_fields": {}}
            tag_names: list[str] = []
            for column, target in mapping.items():
                value = (row.get(column) or "").strip()
                if target == "tags":
                    tag_names = [t.strip() for t in value.split(";") if t.strip()]
                elif target.startswith("custom."):
                    data["custom_fields"][target[7:]] = value
                else:
                    data[target] = value
            errors = []
            try:
                fields = _clean_fields(data)
                if not (fields.get("phone") or fields.get("email") or fields.get("first_name") or fields.get("last_name")):
                    raise Invalid("empty_row", "A name, phone or email is needed.")
                custom = clean_custom_fields(contact_list, data["custom_fields"])
                unknown = [n for n in tag_names if n.lower() not in tags_by_name]
                if unknown:
                    raise Invalid("unknown_tag", f"Unknown tag(s): {', '.join(unknown)}.")
            except Invalid as exc:
                errors.append(exc.detail)
            if errors:
                rejected.append({"row": number, "errors": errors})
                continue
            contact = Contact.objects.create(contact_list=contact_list, custom_fields=custom, **fields)
            if tag_names:
                contact.tags.set([tags_by_name[n.lower()] for n in tag_names])
            if user is not None:
                contact.editors.add(user)
            created += 1
        _audit(None, "imported", user, list=contact_list_id, created=created, rejected=len(rejected))
        return {"created": created, "rejected": rejected}


EXPORT_COLUMNS = ("id", "list", "first_name", "last_name", "phone", "email", "company", "tags")


def contacts_csv(rows: Iterable[dict[str, Any]], custom_keys: list[str]) -> Iterable[str]:
    """CSV lines of already serialised (so already masked, B5) contacts, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return value

    writer.writerow([*EXPORT_COLUMNS, *(f"custom.{k}" for k in custom_keys)])
    yield flush()
    for row in rows:
        custom = row.get("custom_fields") or {}
        writer.writerow(
            [
                row["id"],
                row["list"],
                *(_csv_safe(row.get(k) or "") for k in EXPORT_COLUMNS[2:7]),
                ";".join(row.get("tag_names") or []),
                *(_csv_safe(str(custom.get(k, ""))) for k in custom_keys),
            ]
        )
        yield flush()


def _csv_safe(value: str) -> str:
    # A cell a spreadsheet would run as a formula (OWASP "CSV injection") is prefixed with a quote.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") and not value[1:2].isdigit() else value
