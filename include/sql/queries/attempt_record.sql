-- Written before Twilio is asked. A conflict means this attempt was already recorded
-- (a retried task): nothing is returned and the caller must not dial.
insert into outcall_attempts (campaign_id, lead_id, cycle, round, contact_index,
                              to_number, from_number, started_at)
values (%(campaign_id)s, %(lead_id)s, %(cycle)s, %(round)s, %(contact_index)s,
        %(to_number)s, %(from_number)s, %(now)s)
on conflict (lead_id, cycle, round, contact_index) do nothing
returning id
