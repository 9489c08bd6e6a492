-- The tick whose dialers dial the campaign now (the moment that tick's dialing was to end).
-- A tick's dialer goes on past its tick until the next tick's dialer starts and takes over,
-- so the lines stay busy while the next tick syncs, reconciles and claims (issue 13).
alter table outcall_campaigns add column if not exists dialing_tick timestamptz;
