-- The tick whose dialers dial the campaign now.
select dialing_tick from outcall_campaigns where id = %(campaign_id)s
