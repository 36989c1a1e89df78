"""Hostile input never gets a 500: each case below once answered one, through the real HTTP stack.

Every refusal is a 4xx in the API's JSON error shape ({"detail", "code", "errors"}) or, under /scim/v2/, in SCIM's
error shape, and names what was wrong. Nothing half-stored stays behind.
"""
from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from PIL import Image

from brand_kits.models import BrandKitVersion
from config.request_input import JSON_MAX_DEPTH
from teams.models import Employee, Team
from tenancy.models import Role
from tests.factories import client_for, make_brand_kit, make_employee, make_user
from tests.scim.conftest import SCIM_JSON, ScimOrg, new_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org_a):
    return make_user(org_a, Role.ADMIN)


@pytest.fixture
def api(admin):
    client = client_for(admin)
    client.raise_request_exception = False  # a 500 is an answer to assert on, not an exception in the test
    return client


@pytest.fixture
def scim(db) -> ScimOrg:
    org = ScimOrg("Initech")
    org.client.client.raise_request_exception = False
    return org


def api_error(response, status: int) -> dict:
    """The response is `status` in the API's JSON error shape; returns the body."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body["detail"], str) and isinstance(body["code"], str), body
    return body


def scim_error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == SCIM_JSON
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == str(status)
    return body


def lists(levels: int, leaf=1):
    """`levels` nested JSON arrays around `leaf`: lists(2) == [[1]]."""
    for _ in range(levels):
        leaf = [leaf]
    return leaf


# Deeply nested JSON ---------------------------------------------------------------------------------------------


def test_a_hundred_thousand_open_brackets_to_the_anonymous_login_answer_400_not_500():
    client = Client(raise_request_exception=False)
    response = client.post(url_of("api:login"), "[" * 100_000, content_type="application/json")
    body = api_error(response, 400)
    assert body["code"] == "json_too_deep"
    assert str(JSON_MAX_DEPTH) in body["detail"]


def test_json_nested_one_level_past_the_limit_is_refused_and_at_the_limit_is_parsed(org_a, api):
    url = tenant_url("employee-list", org_a)
    person = {"name": "Ann", "email": "ann@acme.example"}
    # The body object and external_ids are two levels; the lists add the rest.
    too_deep = {**person, "external_ids": {"x": lists(JSON_MAX_DEPTH - 1)}}
    assert api_error(api.post(url, too_deep, format="json"), 400)["code"] == "json_too_deep"
    at_limit = {**person, "external_ids": {"x": lists(JSON_MAX_DEPTH - 2)}}
    # Parsed, then refused by the serializer for what it is (a list, not a string): the depth was fine.
    body = api_error(api.post(url, at_limit, format="json"), 400)
    assert "external_ids" in body["errors"], body
    assert not Employee.objects.exists()


def test_deeply_nested_scim_bodies_and_search_requests_are_invalid_syntax(scim):
    for path in ("Users", "Users/.search", ".search", "Groups"):
        response = scim.client.client.post(f"/scim/v2/{path}", "[" * 100_000, content_type=SCIM_JSON,
                                           headers=scim.client.headers)
        body = scim_error(response, 400)
        assert body["scimType"] == "invalidSyntax" and str(JSON_MAX_DEPTH) in body["detail"], body


# NUL characters -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    ({"name": "Ann\u0000", "email": "ann@acme.example"}, "name"),
    ({"name": "Ann", "email": "ann@acme.example", "external_ids": {"workday\u0000": "W1"}}, "external_ids"),
    ({"name": "Ann", "email": "ann@acme.example", "external_ids": {"workday": "W\u00001"}}, "external_ids.workday"),
    ({"name": "Ann", "email": "ann@acme.example", "team": "Sales\u0000"}, "team"),
])
def test_a_nul_character_in_an_employee_is_refused_naming_the_field(org_a, api, body, field):
    response = api.post(tenant_url("employee-list", org_a), body, format="json")
    errors = api_error(response, 400)["errors"]
    assert any(key == field or key.startswith(field) for key in errors), errors
    assert not Employee.objects.exists() and not Team.objects.exists()


def test_a_nul_character_in_a_brand_spec_is_refused_naming_its_path(org_a, api):
    kit = make_brand_kit(org_a)
    url = tenant_url("brand-kit-list", org_a)
    spec = {"background": {"kind": "solid", "color": "#112233"}, "attire": "suit\u0000"}
    body = api_error(api.post(url, {"name": "Kit", "spec": spec}, format="json"), 400)
    assert "spec.attire" in body["errors"], body
    kit_url = tenant_url("brand-kit-detail", org_a, kit.pk)
    body = api_error(api.patch(kit_url, {"spec": {"variants": ["a", "b\u0000"]}}, format="json"), 400)
    assert "spec.variants.1" in body["errors"], body
    body = api_error(api.patch(kit_url, {"spec": {"framing\u0000": {}}}, format="json"), 400)
    assert any(key.startswith("spec.framing") for key in body["errors"]), body
    assert BrandKitVersion.objects.filter(kit=kit).count() == 1


def test_a_nul_character_in_the_sso_attribute_mapping_is_refused(org_a, api):
    url = tenant_url("sso", org_a)
    body = api_error(api.put(url, {"attribute_mapping": {"email": "mail\u0000"}}, format="json"), 400)
    assert "attribute_mapping.email" in body["errors"], body
    # As multipart, the mapping is JSON text inside a form field.
    response = api.put(url, {"attribute_mapping": json.dumps({"email": "mail\u0000"})}, format="multipart")
    assert api_error(response, 400)["errors"], response.content


def test_a_nul_character_in_any_api_query_parameter_is_refused_naming_it(org_a, api):
    # One check before any view (config/middleware.py), whatever the view does with the parameter.
    for url, parameter in ((tenant_url("audit-event-list", org_a), "action"),
                           (tenant_url("employee-list", org_a), "limit"),
                           (tenant_url("webhook-deliveries", org_a, 1), "status"),
                           (tenant_url("headshot-export", org_a), "approved_only")):
        body = api_error(api.get(url, {parameter: "x\u0000"}), 400)
        assert body["code"] == "nul_character" and parameter in body["errors"], body
    body = api_error(api.get(tenant_url("employee-list", org_a), {"na\u0000me": "x"}), 400)
    assert body["code"] == "nul_character" and "na\\u0000me" in body["errors"], body


def test_a_nul_character_in_a_scim_user_or_filter_is_invalid_value(scim):
    response = scim.client.post("Users", new_user("ada\u0000@initech.example"))
    body = scim_error(response, 400)
    assert "userName" in body["detail"], body
    response = scim.client.post("Users", new_user(name={"givenName": "A\u0000"}))
    assert "name.givenName" in scim_error(response, 400)["detail"]
    response = scim.client.get('Users?filter=userName eq "ada\\u0000@initech.example"')
    assert scim_error(response, 400)["scimType"] in ("invalidFilter", "invalidValue")
    response = scim.client.get("Users?filter=userName%20eq%20%22a%00%22")
    scim_error(response, 400)
    assert not Employee.objects.filter(organization=scim.org).exists()


# Non-ASCII digits and ids past bigint ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "١٢", "99999999999999999999999", "-1", "1.5"])
def test_an_employee_filter_that_is_not_an_ascii_id_is_a_400(org_a, api, value):
    for name in ("headshot-list", "photo-sync-list"):
        body = api_error(api.get(tenant_url(name, org_a), {"employee": value}), 400)
        assert "employee" in body["detail"], body


@pytest.mark.parametrize("value", ["²", "١٢", "99999999999999999999999", "%00"])
def test_a_scim_id_that_is_not_an_ascii_id_is_a_scim_404(scim, value):
    for path in ("Users", "Groups"):
        scim_error(scim.client.get(f"{path}/{value}"), 404)
        scim_error(scim.client.delete(f"{path}/{value}"), 404)


@pytest.mark.parametrize("value", ["²", "99999999999999999999999"])
def test_a_scim_id_filter_that_is_not_an_ascii_id_finds_nobody(scim, value):
    make_employee(scim.org, email="ada@initech.example")
    for path in ("Users", "Groups"):
        response = scim.client.get(f'{path}?filter=id eq "{value}"')
        assert response.status_code == 200, response.content
        assert response.json()["totalResults"] == 0


# SCIM paging past bigint -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start, count", [(10**20, 10), (2**63, 1), (1, 10**20), (10**20, 10**20)])
def test_scim_start_index_and_count_past_bigint_answer_a_page_not_500(scim, start, count):
    make_employee(scim.org, email="ada@initech.example")
    for path in ("Users", "Groups", ".search"):
        if path == ".search":
            response = scim.client.post(path, {"startIndex": start, "count": count})
        else:
            response = scim.client.get(f"{path}?startIndex={start}&count={count}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["startIndex"] == start
        if start > 1:  # past the end: an empty page
            assert body["Resources"] == [] and body["totalResults"] == (0 if path == "Groups" else 1)
        else:  # count is cut to SCIM_MAX_RESULTS
            assert len(body["Resources"]) == body["totalResults"] == (0 if path == "Groups" else 1)


def test_scim_paging_numbers_json_cannot_hold_are_invalid_values(scim):
    response = scim.client.post("Users/.search", {"startIndex": 10**400})  # a big int is still a number
    assert response.status_code == 200 and response.json()["Resources"] == []
    response = scim.client.client.post(url_of("scim:users-search"), '{"startIndex": 1e400}', content_type=SCIM_JSON,
                                       headers=scim.client.headers)  # infinity to Python
    assert scim_error(response, 400)["scimType"] == "invalidValue"


# Wrong-typed brand specs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [
    '{"output_sizes": "abc"}',
    '{"output_sizes": 512}',
    '{"output_sizes": [512.5]}',
    '{"framing": "abc"}',
    '{"framing": [0.4]}',
    '{"framing": {"eye_line": "high"}}',
    '{"color_grade": {"contrast": null}}',
    '{"retouch": {"strength": true}}',
    '{"background": "white"}',
    '{"background": {"kind": "solid", "color": 7}}',
    '{"background": {"kind": ["solid"], "color": "#ffffff"}}',
    '{"extra_backgrounds": "abc"}',
    '{"extra_backgrounds": [1]}',
    '{"attire_color": {"color": "#ffffff", "strength": "full"}}',
    '{"variants": 3}',
    '{"variants_per_person": 1e400}',
    '{"regeneration_tries": -1e400}',
    '{"lighting": ["soft"]}',
    '{"preset": 3}',
])
def test_a_wrong_typed_brand_spec_is_a_400_naming_the_field(org_a, api, spec):
    """Raw JSON text, so 1e400 (which Python reads as infinity) reaches the server as sent."""
    kit = make_brand_kit(org_a)
    url = tenant_url("brand-kit-list", org_a)
    field = next(iter(json.loads(spec)))
    response = api.post(url, f'{{"name": "Kit", "spec": {spec}}}', content_type="application/json")
    assert field in api_error(response, 400)["detail"]
    response = api.patch(tenant_url("brand-kit-detail", org_a, kit.pk), f'{{"spec": {spec}}}',
                         content_type="application/json")
    assert field in api_error(response, 400)["detail"]
    assert BrandKitVersion.objects.filter(organization=org_a).count() == 1


# Path ids that are not integers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "employees/abc", "employees/²", "employees/1.5/invite", "brand-kits/x", "brand-kits/%00/versions",
    "headshots/-1/file", "rollouts/abc/pause", "webhooks/abc", "no-such-thing",
])
def test_a_path_that_matches_no_api_route_is_a_json_404(org_a, api, path):
    # Malformed on purpose: no route matches these paths, so they can't be reversed by name.
    response = api.get(f"/api/v1/orgs/{org_a.slug}/{path}")
    assert api_error(response, 404)["code"] == "not_found"
    assert api_error(api.post(f"/api/v1/orgs/{org_a.slug}/{path}", {}, format="json"), 404)


def test_an_unknown_api_path_is_a_json_404_even_signed_out():
    client = Client()
    assert api_error(client.get("/api/v1/no-such-endpoint"), 404)["code"] == "not_found"  # unrouted on purpose
    assert api_error(client.get("/api/v2/orgs"), 404)["code"] == "not_found"
    # The rest of the site keeps its HTML page.
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


# Brand-kit backgrounds --------------------------------------------------------------------------------------------


def image_upload(fmt: str, frames: int = 1, size=(64, 48), name: str | None = None) -> io.BytesIO:
    images = [Image.new("RGB", size, (i * 80 % 256, i * 7 % 256, 90)) for i in range(frames)]  # distinct frames
    handle = io.BytesIO()
    extra = {"save_all": True, "append_images": images[1:]} if frames > 1 else {}
    images[0].save(handle, fmt, **extra)
    handle.seek(0)
    handle.name = name or f"background.{fmt.lower()}"
    return handle


@pytest.mark.parametrize("fmt, frames", [("GIF", 1), ("GIF", 1_000), ("PNG", 3), ("WEBP", 3), ("BMP", 1),
                                         ("TIFF", 1), ("TIFF", 3)])
def test_a_background_that_is_not_a_still_jpeg_png_or_webp_is_refused(org_a, api, fmt, frames):
    kit = make_brand_kit(org_a)
    response = api.post(tenant_url("brand-kit-background", org_a, kit.pk),
                        {"background_image": image_upload(fmt, frames)}, format="multipart")
    body = api_error(response, 400)
    assert body["code"] == "invalid_brand_kit" and "JPEG, PNG or WebP" in body["detail"], body
    if frames > 1:
        assert "animated" in body["detail"] or "frames" in body["detail"], body
    assert BrandKitVersion.objects.filter(kit=kit).count() == 1


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_still_jpeg_png_or_webp_background_is_accepted(org_a, api, fmt):
    kit = make_brand_kit(org_a)
    response = api.post(tenant_url("brand-kit-background", org_a, kit.pk),
                        {"background_image": image_upload(fmt)}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["spec"]["background"]["kind"] == "image" and response.json()["version"] == 2


# The employee CSV import: all or nothing, with every bad row reported -------------------------------------------


def csv_upload(text: str) -> io.BytesIO:
    handle = io.BytesIO(text.encode())
    handle.name = "people.csv"
    return handle


def import_csv(api, org, text: str):
    return api.post(tenant_url("employee-import", org), {"file": csv_upload(text)}, format="multipart")


def row_errors(body: dict) -> dict[tuple[int, str | None], str]:
    return {(row["line"], row["column"]): row["error"] for row in body["errors"]["rows"]}


def test_over_long_csv_fields_store_nothing_and_report_each_row_and_column(org_a, api):
    text = ("name,email,external_id,team\n"
            "Ann Lee,ann@acme.example,E1,Sales\n"
            f"{'N' * 201},bo@acme.example,E2,Sales\n"
            f"Cy Ray,cy@acme.example,{'9' * 201},Ops\n"
            f"Di Ray,di@acme.example,E4,{'T' * 201}\n"
            f"Ed Fox,{'e' * 250}@acme.example,E5,Ops\n")
    body = api_error(import_csv(api, org_a, text), 400)
    assert body["code"] == "csv_rows_invalid" and "nothing was imported" in body["detail"].lower()
    errors = row_errors(body)
    assert set(errors) == {(3, "name"), (4, "external_id"), (5, "team"), (6, "email")}, errors
    assert "200 characters" in errors[(3, "name")]
    # The good first row was not stored either: the import is all or nothing.
    assert not Employee.objects.exists() and not Team.objects.exists()


def test_a_nul_character_in_a_csv_cell_is_reported_by_line_and_column(org_a, api):
    body = api_error(import_csv(api, org_a, "name,email,team\nAnn\x00Lee,ann@acme.example,Sales\n"
                                            "Bo,bo@acme.example,Sa\x00les\n"), 400)
    errors = row_errors(body)
    assert set(errors) == {(2, "name"), (3, "team")} and "NUL" in errors[(2, "name")], errors
    assert not Employee.objects.exists() and not Team.objects.exists()


def test_two_rows_with_one_external_id_are_refused_instead_of_crashing_halfway(org_a, api):
    existing = make_employee(org_a, email="old@acme.example", external_id="E9")
    text = ("name,email,external_id\n"
            "Ann,ann@acme.example,E1\n"
            "Bo,bo@acme.example,E1\n"
            "Cy,cy@acme.example,E9\n"
            "Ann Again,ANN@acme.example,E3\n")
    errors = row_errors(api_error(import_csv(api, org_a, text), 400))
    assert set(errors) == {(3, "external_id"), (4, "external_id"), (5, "email")}, errors
    assert list(Employee.objects.all()) == [existing]


def test_a_csv_field_past_the_csv_readers_limit_is_a_400(org_a, api):
    body = api_error(import_csv(api, org_a, f"name,email\n{'x' * 200_000},ann@acme.example\n"), 400)
    assert "line 2" in body["detail"], body
    assert not Employee.objects.exists()


def test_the_admin_portal_import_stores_nothing_and_lists_the_bad_rows(org_a, admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    portal = Client()
    portal.force_login(admin)
    text = f"name,email,team\nAnn,ann@acme.example,Sales\n{'N' * 201},bo@acme.example,Sales\n"
    response = portal.post(url_of("portal:admin-employee-import", org_a),
                           {"file": SimpleUploadedFile("people.csv", text.encode(), "text/csv")})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was imported" in html and '<th scope="row">3</th>' in html and "200 characters" in html
    assert not Employee.objects.exists()


# Body size ------------------------------------------------------------------------------------------------------


def test_a_json_or_form_body_past_the_upload_limit_is_a_json_413(org_a, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    url = tenant_url("employee-list", org_a)
    big = {"name": "Ann", "email": "ann@acme.example", "external_ids": {"x": "y" * 20_000}}
    assert api_error(api.post(url, big, format="json"), 413)["code"] == "request_too_large"
    assert api_error(api.post(url, {"name": "A" * 20_000, "email": "a@acme.example"}), 413)
    response = api.post(url, "name=" + "A" * 20_000, content_type="application/x-www-form-urlencoded")
    assert api_error(response, 413)["code"] == "request_too_large"
    assert not Employee.objects.exists()


# The schema documents these answers and the limits ----------------------------------------------------------------


def test_the_openapi_schema_documents_every_error_answer_and_the_input_limits():
    schema = Client().get(url_of("schema") + "?format=json").json()
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail", "code"]
    description = schema["info"]["description"]
    for limit in (f"nested at most {JSON_MAX_DEPTH} levels", "NUL", "5 MB", "cut to 1000", "9223372036854775807"):
        assert limit in description, limit
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()
                  if path.startswith("/api/") and method in ("get", "post", "put", "patch", "delete")]
    assert len(operations) >= 80
    for path, method, operation in operations:
        responses = operation["responses"]
        for code in ("400", "401", "429", "4XX") + (("404",) if "{" in path else ()):
            assert code in responses and "application/json" in responses[code]["content"], (method, path, code)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["schema"]["type"] == "integer":
                assert parameter["schema"]["maximum"] == 2**63 - 1, (path, parameter)
    import_op = schema["paths"]["/api/v1/orgs/{org_slug}/employees/import"]["post"]
    assert "400" in import_op["responses"] and "5 MB" in import_op["description"]
    employee = schema["components"]["schemas"]["EmployeeInRequest"]["properties"]
    assert employee["name"]["maxLength"] == 200 and employee["external_id"]["maxLength"] == 200


@pytest.mark.parametrize("value", ['"a\x01"', '"a\\q"', '"a\\u00"'])
def test_a_scim_filter_value_json_cannot_read_is_an_invalid_filter(scim, value):
    response = scim.client.post("Users", new_user("ada@initech.example"))
    user = response.json()["id"]
    path = f"emails[value eq {value}].primary"
    response = scim.client.patch(f"Users/{user}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                                   "Operations": [{"op": "replace", "path": path, "value": True}]})
    assert scim_error(response, 400)["scimType"] == "invalidFilter"
    response = scim.client.client.get(url_of("scim:users"), {"filter": f"userName eq {value}"},
                                      headers=scim.client.headers)
    assert scim_error(response, 400)["scimType"] == "invalidFilter"


# Credentials ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Token abc\x00def", "Token \x00", "Token abc\x01def"])
def test_a_token_with_a_nul_or_control_character_is_a_401_not_500(org_a, header):
    client = Client(raise_request_exception=False)
    response = client.get(tenant_url("employee-list", org_a), headers={"Authorization": header})
    assert api_error(response, 401)["code"] == "authentication_failed"
