"""The OpenAPI schema and the docs page: served locally, describing real bodies per entity."""

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("attempt", [1, 2])
def test_the_schema_describes_each_entity_from_its_tables_fields(client, attempt):
    # Twice: generating the schema must not change what the next generation starts from.
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    customer = schema["components"]["schemas"]["customer"]["properties"]
    assert customer["creditLimit"]["type"] == "number"
    blocked = customer["blocked"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][blocked]["enum"] == [" ", "Ship", "Invoice", "All"]
    assert customer["id"]["format"] == "uuid"
    writable = schema["components"]["schemas"]["customerInput"]
    assert "balanceDue" not in writable["properties"]
    assert writable["additionalProperties"] is False
    order = schema["components"]["schemas"]["salesOrder"]["properties"]
    assert order["salesOrderLines"]["items"] == {"$ref": "#/components/schemas/salesOrderLine"}
    paths = schema["paths"]
    assert "/api/v2.0/companies({company_id})/customers" in paths
    assert set(paths["/api/v2.0/companies({company_id})/customers({record_id})"]) == {
        "get",
        "patch",
        "delete",
    }
    assert set(paths["/api/v2.0/companies({company_id})/salesInvoices({record_id})"]) == {"get"}
    release = paths[
        "/api/v2.0/companies({company_id})/salesOrders({record_id})/Microsoft.NAV.release"
    ]["post"]
    assert "204" in release["responses"]
    assert release["responses"]["412"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/error"
    }
    security = schema["components"]["securitySchemes"]
    assert security["apiToken"]["scheme"] == "bearer"
    assert "clientCredentials" in security["serviceClient"]["flows"]


def test_the_docs_page_uses_assets_served_by_the_site(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/schema/" in html
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
