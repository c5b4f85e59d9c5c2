from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from nebhx.auth.deps import VIEWER
from nebhx.errors import NotFound
from nebhx.store.deps import DbSession
from nebhx.triggers import service
from nebhx.triggers.schemas import RunTrigger, TriggerFired, TriggerRead
from nebhx.triggers.signatures import BadSignature

# No user session: the webhook authenticates by the body's signature with the trigger's secret.
public = APIRouter(tags=["triggers"])
router = APIRouter(tags=["triggers"], dependencies=[VIEWER])


@public.post("/triggers/{name}", status_code=202, response_model_exclude_unset=True,
             responses={401: {"description": "No signature, a wrong one, or a delivery outside its time window"},
                        409: {"description": "A delivery taken before (a replay)"}})
async def fire(name: str, request: Request, s: DbSession) -> TriggerFired:
    """A signed push (GitHub, Gitea, GitLab or generic) starts a run of the trigger's graph."""
    body = await request.body()
    request.state.audit_as = (f"trigger:{name}", "triggers.fire")
    try:
        result = await run_in_threadpool(service.fire, s, name=name, headers=request.headers, body=body)
    except BadSignature as exc:
        request.state.audit = {"refused": str(exc)}
        raise HTTPException(401, str(exc)) from exc
    except service.Replayed as exc:
        request.state.audit = {"refused": str(exc)}
        raise HTTPException(409, str(exc)) from exc
    except NotFound as exc:
        request.state.audit = {"refused": str(exc)}
        raise
    request.state.audit = {"run_id": result.run_id, "started": result.started, "reason": result.reason,
                           "commit": result.trigger["commit"], "ref": result.trigger["ref"]}
    return result


@router.get("/triggers", response_model_exclude_unset=True)
def list_triggers(s: DbSession) -> list[TriggerRead]:
    """Triggers the graphs declare, with the runs each started last."""
    return service.list_triggers(s)


@router.get("/triggers/runs/{run_id}")
def run_trigger(run_id: str, s: DbSession) -> RunTrigger:
    """What triggered a run: {"trigger": null} when a person or a client started it."""
    return service.run_trigger(s, run_id=run_id)
