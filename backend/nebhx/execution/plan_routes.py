from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel

from nebhx.auth.tokens import Principal
from nebhx.execution import plan
from nebhx.auth.host_deps import require_host

router = APIRouter()


class PlanAnswer(BaseModel):
    answer: dict[str, Any]


@router.post("/plan/{request_id}", status_code=204, responses={410: {"description": "no plan waits for it"}})
async def plan_answer(body: PlanAnswer, request: Request, request_id: str = Path(pattern=r"^[0-9a-f]{32}$"),
                      host: Principal = Depends(require_host)) -> Response:
    """A host's plan of its own nodes, answering the plan that asked this host."""
    # A hundred hosts answer at once: the plan that waits in this process takes it here, on the
    # event loop; only an answer for a plan waiting in another process goes to the store.
    name = host.host or ""
    answer = body.answer
    if int(request.headers.get("content-length") or 0) > plan.MAX_ANSWER_BYTES:
        answer = plan.too_big(name)
    if plan.take_here(request_id=request_id, host=name, answer=answer):
        return Response(status_code=204)
    try:
        await run_in_threadpool(plan.record_answer, request_id=request_id, host=name, answer=answer)
    except plan.AnswerRefused as exc:
        raise HTTPException(410, str(exc)) from exc
    return Response(status_code=204)
