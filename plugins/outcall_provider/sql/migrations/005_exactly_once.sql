-- Exactly once and never stuck (issue: Twilio as it really behaves).

-- What an attempt needs to be judged even if the lead changes under it (a re-import that
-- removes secondary contacts), and when Twilio's final record of its call was read: a
-- status callback says a call ended, but the outcome is decided from Twilio's own record.
alter table outcall_attempts add column contact_count int;
alter table outcall_attempts add column record_read_at timestamptz;
-- Twilio fills in `price` some time after a call ends: judged calls are re-read a few times.
alter table outcall_attempts add column price_checks int not null default 0;
alter table outcall_attempts add column price_checked_at timestamptz;
create index outcall_attempts_price_pending on outcall_attempts (campaign_id, id)
    where price is null and call_sid is not null and judged_at is not null;

-- A secondary contact a re-import removed is not there to dial: its lead's to_number is null
-- (never the primary in its place) and the dialer ends the round for it.
create or replace view outcall_dial_targets as
select l.id, l.campaign_id, l.cycle, l.round, l.contact_index, l.contact_count, l.phone_number,
       l.external_id, l.variables, l.last_outcome, l.status,
       case when l.contact_index = 0 then l.phone_number else c.phone_number end as to_number,
       case when l.contact_index = 0 then l.phone_invalid_reason
            when c.lead_id is null then 'contact removed by a re-import'
            else c.invalid_reason end as invalid_reason
from outcall_leads l
left join outcall_contacts c on c.lead_id = l.id and c.position = l.contact_index and l.contact_index > 0;
