-- A tick's dialer starts: its tick dials the campaign from now on, unless a later tick's
-- dialer already does. Returns the tick that dials.
update outcall_campaigns
set dialing_tick = greatest(coalesce(dialing_tick, %(tick)s), %(tick)s)
where id = %(campaign_id)s
returning dialing_tick
