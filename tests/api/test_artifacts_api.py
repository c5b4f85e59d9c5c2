"""The artifact routes over the store: a recorded build output is listed with its provenance and
a time, and its bytes download under its name."""
from datetime import datetime

from nebhx.artifacts.service import record_artifact
from nebhx.store.db import session_scope


def test_a_recorded_artifact_is_listed_and_downloads(api, tmp_path):
    wheel = tmp_path / "app-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    with session_scope() as s:
        made = record_artifact(s, name=wheel.name, path=wheel, provenance={"commit": "abc123"})
    [listed] = api.get("/api/artifacts").json()
    assert listed["sha256"] == made.sha256 and listed["provenance"] == {"commit": "abc123"}
    assert listed["source"] == f"artifact:{wheel.name}@sha256:{made.sha256}"
    assert datetime.fromisoformat(listed["created_at"]).utcoffset() is not None  # a time with its zone
    got = api.get(f"/api/artifacts/{made.sha256}")
    assert got.status_code == 200 and got.content == b"not really a wheel"
    assert got.headers["x-nebhx-sha256"] == made.sha256 and wheel.name in got.headers["content-disposition"]
    assert api.get("/api/artifacts/" + "0" * 64).status_code == 404
