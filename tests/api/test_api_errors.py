"""Every error under /api/ is JSON with a ``code`` (issue 7, deliverable 5), and what the fuzzer
found answers 4xx, not 500: odd ids in URLs and filters, bodies that are not objects, oversized
bodies, and the schema says what the API does."""
from __future__ import annotations

import json

import pytest
import yaml
from django.core.exceptions import RequestDataTooBig
from django.core.management import call_command
from django.test import RequestFactory

from apps.core import api as core_api
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db

HUGE = "16362579102246387712"  # past SQLite's 64-bit integers


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# ----- odd ids ------------------------------------------------------------------------------------
@pytest.mark.parametrize("verb", ["accept", "decline", "cancel"])
@pytest.mark.parametrize("pk", ["null%2Cnull", "abc", "%C2%B2", HUGE])
def test_a_transfer_action_on_a_non_id_is_a_json_404(as_user, alice, verb, pk):
    assert_error(as_user(alice).post(f"/api/v1/transfers/{pk}/{verb}/"), 404, "not_found")


@pytest.mark.parametrize("pk", ["null%2Cnull", "%C2%B2", HUGE])
def test_an_interaction_action_on_a_non_id_is_a_json_404(as_user, alice, pk):
    assert_error(as_user(alice).post(f"/api/v1/interactions/{pk}/accept/"), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "param"),
    [("/api/v1/queues/", "agents"), ("/api/v1/users/", "queues")],
)
@pytest.mark.parametrize("value", [HUGE, "-" + HUGE])
def test_a_huge_id_in_a_repeatable_filter_is_a_400(as_user, sam, queue_a, path, param, value):
    response = as_user(sam).get(path, {param: [str(queue_a.pk), value]})
    body = assert_error(response, 400, "invalid")
    assert param in body["errors"]


def test_the_relation_filters_still_filter(as_user, sam, alice, bob, queue_a):
    rows = as_user(sam).get("/api/v1/queues/", {"agents": alice.pk}).json()["results"]
    assert [row["id"] for row in rows] == [queue_a.pk]


# ----- bodies ---------------------------------------------------------------------------------------
@pytest.fixture
def chat(account_a, alice):
    return InteractionFactory(account=account_a, status="open", owner=alice, first_agent=alice)


@pytest.mark.parametrize("action", ["messages", "notes"])
@pytest.mark.parametrize("body", [[None, None], "text", 5])
def test_a_body_that_is_not_an_object_is_a_400(as_user, alice, chat, action, body):
    response = as_user(alice).post(f"/api/v1/interactions/{chat.pk}/{action}/", body, format="json")
    assert_error(response, 400, "invalid")


def test_a_text_that_is_an_object_is_a_400(as_user, alice, chat):
    response = as_user(alice).post(f"/api/v1/interactions/{chat.pk}/messages/", {"text": {"a": 1}}, format="json")
    assert "text" in assert_error(response, 400, "invalid")["errors"]


def test_an_empty_message_keeps_the_services_code(as_user, alice, chat):
    response = as_user(alice).post(f"/api/v1/interactions/{chat.pk}/messages/", {"text": ""}, format="json")
    assert_error(response, 400, "empty_message")


def test_a_text_field_over_the_upload_limit_is_a_json_413(as_user, alice, chat, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = as_user(alice).post(
        f"/api/v1/interactions/{chat.pk}/messages/", {"text": "x" * 20_000}, format="multipart"
    )
    assert_error(response, 413, "request_too_large")


def test_malformed_json_is_a_400_with_a_code(as_user, alice, chat):
    response = as_user(alice).post(
        f"/api/v1/interactions/{chat.pk}/notes/", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_an_unsupported_media_type_is_a_json_415(as_user, alice, chat):
    response = as_user(alice).post(f"/api/v1/interactions/{chat.pk}/notes/", "text=hi", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


# ----- codes for the generic errors --------------------------------------------------------------
def test_no_credentials_is_a_json_401(anon):
    assert_error(anon.get("/api/v1/interactions/"), 401, "not_authenticated")


def test_a_bad_token_is_a_json_401(anon):
    anon.credentials(HTTP_AUTHORIZATION="Token nope")
    assert_error(anon.get("/api/v1/interactions/"), 401, "authentication_failed")


def test_an_agent_writing_users_is_a_json_403(as_user, alice):
    assert_error(as_user(alice).post("/api/v1/users/", {"username": "x"}, format="json"), 403, "permission_denied")


def test_a_wrong_method_is_a_json_405(as_user, alice):
    assert_error(as_user(alice).put("/api/v1/presence/", {}, format="json"), 405, "method_not_allowed")


def test_an_unknown_api_url_is_a_json_404(as_user, alice):
    assert_error(as_user(alice).get("/api/v1/no-such-thing/"), 404, "not_found")


def test_a_page_past_the_end_is_a_json_404(as_user, alice):
    assert_error(as_user(alice).get("/api/v1/interactions/", {"page": 99}), 404, "not_found")


def test_outside_the_api_django_error_pages_stay_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", ["/api/v1/messages/", "/login/"])
def test_django_level_errors_under_the_api_are_json(path):
    request = RequestFactory().post(path)
    api = path.startswith("/api/")
    response = core_api.bad_request(request, RequestDataTooBig("too big"))
    if api:
        assert response.status_code == 413
        assert json.loads(response.content)["code"] == "request_too_large"
        assert json.loads(core_api.server_error(request).content)["code"] == "server_error"
        assert json.loads(core_api.permission_denied(request, None).content)["code"] == "permission_denied"
    else:
        assert response.status_code == 400
        assert not response["Content-Type"].startswith("application/json")


# ----- the schema says what the API does ------------------------------------------------------------
@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_message_kinds_are_documented_as_the_api_returns_them(schema):
    assert schema["components"]["schemas"]["MessageKindEnum"]["enum"] == [
        "text", "image", "audio", "voice", "video", "document", "sticker", "location", "template", "unsupported",
    ]


def test_canned_answers_are_documented_as_a_paginated_list(schema):
    response = schema["paths"]["/api/v1/queues/{id}/canned_answers/"]["get"]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][ref]["properties"]["results"]["type"] == "array"


def test_every_operation_documents_its_errors_as_the_error_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            errors = {code for code in responses if code.startswith("4")}
            public = path == "/api/v1/auth/token/"
            assert public or {"401", "403"} <= errors, (method, path)
            if "{" in path:
                assert "404" in errors, (method, path)
            if method in ("post", "put", "patch", "delete") and not public:
                assert "409" in errors, (method, path)
            for code in errors:
                body = responses[code]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (method, path, code)
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "detail"]


# ----- NUL in a query string ----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("search", ["\x00", "a\x00b"])
def test_a_nul_in_a_search_that_reaches_the_database_is_a_400(as_user, sam, queue_a, search):
    """PostgreSQL refuses NUL in text (psycopg raises before sending); found by the fuzzer on canned
    answers' ``?search=``. SQLite compares it like any character: there the search finds nothing."""
    from django.db import connection

    response = as_user(sam).get(f"/api/v1/queues/{queue_a.pk}/canned_answers/", {"search": search})
    if connection.vendor == "postgresql":
        assert_error(response, 400, "invalid_text")
    else:
        assert response.status_code == 200 and response.json()["results"] == []


def test_a_nul_in_a_parameter_the_view_ignores_changes_nothing(as_user, sam):
    assert as_user(sam).get("/api/v1/queues/", {"unknown": "\x00"}).status_code == 200


def test_gets_that_take_query_parameters_document_a_400(schema):
    operation = schema["paths"]["/api/v1/queues/{id}/canned_answers/"]["get"]
    assert "search" in [p["name"] for p in operation["parameters"]]
    assert "400" in operation["responses"]
