"""The plan of a graph (`nebhx plan`, POST /api/graphs/{id}/plan): what a run would do, told by
each brick's ``plan`` against the inventory and, for host bricks, by the hosts' agents; nothing
is changed. It reads graphs and run inputs like a run does and uses the engine's rules."""
