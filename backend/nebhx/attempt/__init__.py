"""One attempt of one node, as any process runs it: claim, run the brick, renew, finish.

Where the claim comes from and where the outcome goes is the ``Execution`` given: the store
on a control worker (``nebhx.engine.claims.DbExecution``), the execution API on an agent
(``nebhx.agent.client.HttpExecution``). Nothing here reaches the store or the engine.
"""
