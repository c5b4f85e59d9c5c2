"""The config API renders stored templates in the sandbox: an escape is a 422, never a 500."""
from __future__ import annotations

from escapes import PAYLOADS, armed


def test_explain_refuses_every_escape_payload(api, tmp_path):
    marker = tmp_path / "MARKER"
    for pid, template, _effect in PAYLOADS:
        doc = {"values": {"port": 80}, "templates": {"app.conf": armed(template, marker)}}
        saved = api.put("/api/config/profiles/p", json=doc)
        assert saved.status_code in (200, 422), (pid, saved.text)
        if saved.status_code == 200:
            answer = api.get("/api/config/profiles/p/explain", params={"host": "h1"})
            assert answer.status_code == 422, (pid, answer.text)
        else:
            answer = saved
        assert "template 'app.conf'" in answer.text, (pid, answer.text)
        assert not marker.exists(), pid


def test_a_safe_template_still_explains(api):
    doc = {"values": {"port": 80}, "templates": {"app.conf": "port={{ port }}\n"}}
    assert api.put("/api/config/profiles/p", json=doc).status_code == 200
    answer = api.get("/api/config/profiles/p/explain").json()
    assert answer["files"] == {"app.conf": "port=80\n"}
