-- Every callee clock of the store (a few hundred at most: distinct zone and state sets).
select id, zones, states, source from outcall_callee_clocks
