-- Compliance (issue 12): the callee's clock, do-not-call lists, consent, frequency caps and
-- the per-attempt audit.

-- Where a lead's callee may be: the candidate time zones of all its numbers (or of its
-- timezone / state / postal_code column) and its US states. Few distinct rows exist, so a
-- claim computes in Python which of them are inside the hours now and passes their ids.
create table outcall_callee_clocks (
    id      serial primary key,
    zones   text not null,               -- IANA names separated by spaces, sorted; '' = unknown
    states  text not null,               -- USPS codes separated by spaces, sorted; '' = none
    source  text not null,               -- where the zones came from (for the audit)
    unique (zones, states, source)
);
alter table outcall_leads add column callee_clock_id int;
alter table outcall_leads add column consent_at timestamptz;

-- Do-not-call: numbers no campaign of this store may dial. A number may be on several lists
-- (an imported list, a synced list, `hand`, `opt-out`); it is suppressed while on any.
create table outcall_dnc (
    phone_number text not null,          -- E.164
    list         text not null,
    source       text,                   -- the file, query, person or call that put it there
    added_at     timestamptz not null,
    primary key (phone_number, list)
);
-- The version of the lists as a whole, recorded in each attempt's audit.
create table outcall_dnc_version (version bigint not null);
insert into outcall_dnc_version values (0);
create function outcall_dnc_bump() returns trigger language plpgsql as $$
begin
    update outcall_dnc_version set version = version + 1;
    return null;
end $$;
create trigger outcall_dnc_bump after insert or update or delete or truncate on outcall_dnc
    for each statement execute function outcall_dnc_bump();

-- Frequency caps count every call to a number from any campaign; caller-ID caps every call
-- from a number of the pool.
create index outcall_attempts_to_number on outcall_attempts (to_number, started_at);
create index outcall_attempts_from_number on outcall_attempts (from_number, started_at);

-- What allowed the attempt: local times, rules checked, caller-ID choice.
alter table outcall_attempts add column audit jsonb;

-- The dialer needs the lead's clock and consent with its next contact.
create or replace view outcall_dial_targets as
select l.id, l.campaign_id, l.cycle, l.round, l.contact_index, l.contact_count, l.phone_number,
       l.external_id, l.variables, l.last_outcome, l.status,
       case when l.contact_index = 0 then l.phone_number else c.phone_number end as to_number,
       case when l.contact_index = 0 then l.phone_invalid_reason
            when c.lead_id is null then 'contact removed by a re-import'
            else c.invalid_reason end as invalid_reason,
       l.callee_clock_id, l.consent_at
from outcall_leads l
left join outcall_contacts c on c.lead_id = l.id and c.position = l.contact_index and l.contact_index > 0;

-- Due leads by clock: the claim walks each open clock's due leads in due order, and the next
-- due moment is one index step per clock. It replaces the index by due order alone, so an
-- import still maintains one due index.
drop index outcall_leads_due;
create index outcall_leads_due_by_clock on outcall_leads (campaign_id, callee_clock_id, due_at, id)
    where status in ('created', 'rescheduled');

-- Leads imported before this migration get their clock from the next tick's sync.
create index outcall_leads_without_clock on outcall_leads (campaign_id, id) where callee_clock_id is null;
