-- Written before Twilio is asked, and only while the lead is still `scheduled` in the cycle
-- it was claimed in: a person who changed the lead since (completed, or created again) wins,
-- and nothing is written. The lead moves to `processing` in the same statement.
-- `existing_id`: this exact attempt was written before (a retried task); the caller must not
-- dial, reconciliation resolves it from Twilio's records.
with lead as (
    select id from outcall_leads
    where id = %(lead_id)s and cycle = %(cycle)s and status = {{LeadStatus.SCHEDULED}}
    for update
), inserted as (
    insert into outcall_attempts (campaign_id, lead_id, cycle, round, contact_index, contact_count,
                                  to_number, from_number, started_at, audit)
    select %(campaign_id)s, lead.id, %(cycle)s, %(round)s, %(contact_index)s, %(contact_count)s,
           %(to_number)s, %(from_number)s, %(now)s, %(audit)s
    from lead
    on conflict (lead_id, cycle, round, contact_index) do nothing
    returning id
), existing as (
    select a.id from outcall_attempts a join lead on a.lead_id = lead.id
    where a.cycle = %(cycle)s and a.round = %(round)s and a.contact_index = %(contact_index)s
), processing as (
    update outcall_leads l set status = {{LeadStatus.PROCESSING}}, updated_at = %(now)s
    from lead where l.id = lead.id
    returning l.id
)
select (select id from inserted) as new_id, (select id from existing) as existing_id,
       exists (select 1 from processing) as claimed
