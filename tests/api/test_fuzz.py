"""Fuzzing kept in the suite: schemathesis over the whole OpenAPI of the in-process API on
PostgreSQL (the store that refused NUL, int64 overflow and NaN with a 500), signed in as an
admin so the state-changing routes run too. Every answer must be under 500.

The examples are derandomized (the same requests each run) and bounded: NEBHX_FUZZ_EXAMPLES
raises the count for a longer hunt, e.g. NEBHX_FUZZ_EXAMPLES=500 pytest tests/api/test_fuzz.py -s.
"""
from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from support import TEST_BLOCKS, create_pg_database

EXAMPLES = int(os.environ.get("NEBHX_FUZZ_EXAMPLES", "25"))
ANSWERS: Counter = Counter()


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """The API over a fresh PostgreSQL store, and an admin's token."""
    from nebhx.auth import ratelimit
    from nebhx.bricks.registry import get_registry
    from nebhx.settings import reset_settings
    url, drop = create_pg_database()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEBHX_HOME", str(tmp_path_factory.mktemp("fuzz")))
        env.setenv("NEBHX_DATABASE_URL", url)
        env.setenv("NEBHX_BLOCKS_PATH", str(TEST_BLOCKS))
        env.setenv("NEBHX_ALLOWED_HOSTS", "testserver")  # schemathesis's ASGI client's Host
        reset_settings()
        ratelimit.reset()
        get_registry(reload=True)
        from nebhx.api.app import create_app
        token = _admin_token()
        yield create_app(), token
        print(f"\nschemathesis: {sum(ANSWERS.values())} requests, "
              f"{sum(n for s, n in ANSWERS.items() if s >= 500)} answered 5xx; by status {dict(sorted(ANSWERS.items()))}")
        reset_settings()
        ratelimit.reset()
    drop()


def _admin_token() -> str:
    """An admin made as `nebhx user add` makes one (as tests/auth/authkit.py add_user does)."""
    from nebhx.auth import service
    from nebhx.store.db import session_scope
    with session_scope() as s:
        service.create_user(s, name="fuzz.admin", password="correct horse", role="admin")
        return service.create_token(s, owner="fuzz.admin", name="fuzz").token


def _fuzz(operation, mode: GenerationMode, token: str) -> None:
    """Bounded examples of one operation in one mode; raises on the first 5xx."""
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        try:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
        except Exception:
            ANSWERS[500] += 1  # in process, an unhandled error is raised rather than answered 500
            raise
        ANSWERS[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error])
    run()


# schemathesis's own pytest plugin (schema.parametrize) does not run under pytest 9: one
# test walks every operation instead, and names every operation that answered 5xx.
def test_no_request_answers_5xx(fuzz_app):
    app, token = fuzz_app
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    failed = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, token)
            except Unsatisfiable:
                pass  # nothing of this operation can be made invalid (no parameters, no body)
            except Exception as exc:  # a failed check, with the request that made it
                failed.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")
    assert not failed, "\n\n".join(failed)
