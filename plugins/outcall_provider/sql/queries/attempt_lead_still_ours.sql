-- Right before the call is placed: is the lead still in the cycle its attempt was written in?
-- The row lock is held until the SID is saved, so a person's change to the lead waits for the
-- create request (a fraction of a second) and no call is ever placed after it.
select 1 from outcall_leads
where id = %(lead_id)s and cycle = %(cycle)s and status = {{LeadStatus.PROCESSING}}
for update
