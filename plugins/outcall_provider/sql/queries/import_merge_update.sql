-- A re-import updates the lead's data; its status and attempts are left as they are.
-- An invalid mark stays only on an unchanged number and only when it names a number-specific
-- Twilio code (marks written for account-wide codes such as 21210 were wrong).
update outcall_leads l
set phone_number = r.phone,
    phone_invalid_reason = case when l.phone_number = r.phone
                                 and substring(l.phone_invalid_reason from 'Twilio (\d+)')
                                     = any(%(number_error_codes)s::text[])
                                then l.phone_invalid_reason end,
    contact_count = 1 + cardinality(r.secondaries),
    variables = l.variables || r.variables,
    import_id = %(report_id)s,
    source_line = r.line,
    updated_at = %(now)s,
    callee_clock_id = k.id,
    consent_at = r.consent_at
from outcall_resolved r
join outcall_callee_clocks k on (k.zones, k.states, k.source) = (r.zones, r.states, r.zone_source)
where r.reason_taken is null and r.target_id is not null and l.id = r.target_id
