update outcall_campaigns set status = %(status)s, updated_at = %(now)s
where id = %(campaign_id)s and status <> %(status)s
