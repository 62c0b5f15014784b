"""JSON bodies carrying text a database cannot store (NUL, lone surrogates) are a 400 with a code,
never a 500 (found by the fuzzer on a contact list's custom fields)."""
from __future__ import annotations

import pytest

from tests.factories import ContactListFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ['"a\\u0000b"', '"\\ud94b"'])
@pytest.mark.parametrize("where", ["value", "key"])
def test_unstorable_text_is_refused_with_a_code(as_user, ada, text, where):
    contacts = ContactListFactory()
    field = f'{{"label": {text}, "kind": "text", "key": "k"}}' if where == "value" else f'{{{text}: 1, "label": "x", "key": "k"}}'
    response = as_user(ada).patch(
        f"/api/v1/contact-lists/{contacts.pk}/", data=f'{{"custom_fields": [{field}]}}', content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_text"
    contacts.refresh_from_db()
    assert not contacts.custom_fields.exists()
