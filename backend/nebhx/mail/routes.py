from fastapi import APIRouter, Query

from nebhx.auth.deps import VIEWER
from nebhx.limits import RUNS_LIMIT
from nebhx.mail import service
from nebhx.mail.schemas import MailMessage

router = APIRouter(tags=["mail"], dependencies=[VIEWER])


@router.get("/mail")
def list_mail(limit: int = Query(100, ge=RUNS_LIMIT[0], le=RUNS_LIMIT[1])) -> list[MailMessage]:
    """Messages the development mail sink of `nebhx up` received, newest first."""
    return service.list_messages(limit=limit)
