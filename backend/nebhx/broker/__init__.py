"""The Celery broker both kinds of worker use: a control worker (``nebhx.engine``) and an
agent (``nebhx.agent``) build their apps here and register their own tasks under the names
the control plane sends (``RUN_NODE``, ``PLAN_HOST``)."""
