from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from pydantic import BaseModel

from nebhx.auth.tokens import Principal
from nebhx.execution import plan
from nebhx.auth.host_deps import require_host

router = APIRouter()


class PlanAnswer(BaseModel):
    answer: dict[str, Any]


@router.post("/plan/{request_id}", status_code=204, responses={410: {"description": "no plan waits for it"}})
def plan_answer(body: PlanAnswer, request_id: str = Path(pattern=r"^[0-9a-f]{32}$"),
                host: Principal = Depends(require_host)) -> Response:
    """A host's plan of its own nodes, answering the plan that asked this host."""
    try:
        plan.record_answer(request_id=request_id, host=host.host, answer=body.answer)
    except plan.AnswerRefused as exc:
        raise HTTPException(410, str(exc)) from exc
    return Response(status_code=204)
