"""GET /api/mail: the development sink's inbox, newest first, as the editor's mail view reads it."""
import json

from nebhx.mail.sink import inbox_file


def test_the_inbox_is_listed_newest_first_and_a_broken_line_is_skipped(api, tmp_path):
    inbox = inbox_file(tmp_path)
    inbox.parent.mkdir(parents=True)
    first = {"id": "m1", "date": "2026-12-07T20:00:00+00:00", "from": "nebhx@example.test", "to": ["ops@example.test"],
             "subject": "deployed", "message_id": "<1@x>", "text": "v2 is live", "peer": "127.0.0.1"}
    lines = [json.dumps(first), "not json", json.dumps({"subject": "no id"}), json.dumps({"id": "m2"})]
    inbox.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = api.get("/api/mail")
    assert got.status_code == 200, got.text
    assert [m["id"] for m in got.json()] == ["m2", "m1"]
    assert got.json()[1] == first  # "from" keeps its name in the answer
    assert got.json()[0]["subject"] == "" and got.json()[0]["to"] == []
    assert [m["id"] for m in api.get("/api/mail", params={"limit": 1}).json()] == ["m2"]
