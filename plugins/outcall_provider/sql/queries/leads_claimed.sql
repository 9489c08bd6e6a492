-- The leads of one batch that are still claimed for dialing, as claim_due_leads returns them.
select t.id, t.cycle, t.round, t.contact_index, t.contact_count, t.phone_number, t.external_id,
       t.variables, t.last_outcome, t.to_number, t.invalid_reason, t.callee_clock_id, t.consent_at,
       exists (select 1 from outcall_dnc d where d.phone_number = t.to_number) as suppressed
from outcall_dial_targets t
where t.id = any(%(lead_ids)s) and t.status = {{LeadStatus.SCHEDULED}}
order by t.id
