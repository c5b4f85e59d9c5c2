"""The API's docs work without internet, and the editor's copy of the OpenAPI document is current."""
from __future__ import annotations

import json
import re

import pytest

from support import ROOT

@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_docs_page_uses_only_same_origin_assets_and_they_load(api):
    page = api.get("/api/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: '([^']+)'", page.text)
    assert len(refs) >= 4, page.text
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), f"{ref} is not on this server"
        resp = api.get(ref)
        assert resp.status_code == 200, ref
        assert resp.content, ref
    assert "cdn" not in page.text.lower()
    js = api.get("/api/docs-assets/swagger-ui-bundle.js").text
    assert re.search(r'"5\.\d+\.\d+"', js), "Swagger UI 5 (reads OpenAPI 3.1) expected"


def test_frontend_openapi_json_is_current():
    from nebhx.api.app import create_app
    current = create_app().openapi()
    saved = json.loads((ROOT / "frontend" / "openapi.json").read_text())
    if saved != current:
        changed = sorted(set(current["paths"]) ^ set(saved["paths"])) or ["(schemas or operations)"]
        pytest.fail("frontend/openapi.json is stale (differs at " + ", ".join(changed[:10]) + "): "
                    "run `npm --prefix frontend run openapi`")
