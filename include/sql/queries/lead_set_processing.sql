update outcall_leads set status = 'processing', updated_at = %(now)s where id = %(lead_id)s
