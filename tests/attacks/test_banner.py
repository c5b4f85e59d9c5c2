"""Issue 17, item 8: `nebhx up` printed the Redis password in its banner (the broker URL as
given, `redis://:PASSWORD@host:6379/0`), and a store URL's password the same way."""
from __future__ import annotations

from nebhx.cli.serve import banner
from nebhx.settings import Settings


def test_the_banner_shows_no_password(tmp_path):
    settings = Settings(home=tmp_path, broker_url="redis://:r3dis-pass@10.0.0.5:6379/0",
                        database_url="postgresql+psycopg://nebhx:db-pa%40ss@db.example:5432/nebhx")
    text = banner("127.0.0.1", 8750, settings)
    assert "r3dis-pass" not in text and "db-pa" not in text, text
    assert "redis://:******@10.0.0.5:6379/0" in text and "postgresql+psycopg://nebhx:******@db.example:5432/nebhx" in text
    assert "http://127.0.0.1:8750/" in text
    plain = banner("127.0.0.1", 8750, Settings(home=tmp_path))
    assert "broker embedded" in plain and f"sqlite:///{tmp_path}/nebhx.db" in plain
