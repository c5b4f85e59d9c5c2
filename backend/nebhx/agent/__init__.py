"""The agent of a managed host, joined with the host's token (``nebhx agent --server URL``):
a Celery worker on the host's own queue that runs the nodes and plans sent to it, reports the
host's services and volumes, and reaches the control plane only through its execution API
(``client``, with the API's own models). Its imports never reach the store, the engine,
a domain service or SQLAlchemy (the ``agent-no-store`` contract in .importlinter)."""
