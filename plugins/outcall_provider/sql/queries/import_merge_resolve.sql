-- Match each staged lead to the lead it updates (by external_id, else by primary phone)
-- and decide why a row cannot be taken, in one pass. Duplicates inside the block are found
-- by hash aggregation (no sort); duplicates of earlier blocks by the lead's import_id.
-- Without update_existing (a lead added by hand) a row naming an existing lead is not taken.
create temp table outcall_resolved on commit drop as
with rows as (
    select * from outcall_stage where kind = 'L'
), dup_external_id as (
    select external_id, min(line) as first_line from rows
    where external_id is not null group by external_id having count(*) > 1
), dup_phone_key as (
    select phone, min(line) as first_line from rows
    where external_id is null group by phone having count(*) > 1
), dup_phone as (
    select phone, min(line) as first_line from rows group by phone having count(*) > 1
)
select r.*,
       case
           when not %(update_existing)s and le.id is not null and lp.id = le.id then
               'external_id and phone_number already belong to lead ' || le.id || ' of this campaign'
           when not %(update_existing)s and le.id is not null then
               'external_id already belongs to lead ' || le.id
               || coalesce(', phone_number to lead ' || lp.id || ',', '') || ' of this campaign'
           when not %(update_existing)s and lp.id is not null then
               'phone_number already belongs to lead ' || lp.id || ' of this campaign'
           when de.first_line < r.line then 'duplicate of line ' || de.first_line || ' (same external_id)'
           when dk.first_line < r.line then 'duplicate of line ' || dk.first_line || ' (same phone_number)'
           when t.import_id = %(report_id)s then
               'duplicate of line ' || t.source_line || case when r.external_id is not null
                   then ' (same external_id)' else ' (same phone_number)' end
           when dp.first_line < r.line then 'phone_number repeats line ' || dp.first_line
           when lp.id is not null and lp.id is distinct from t.id then
               case when lp.import_id = %(report_id)s
                   then 'phone_number repeats line ' || lp.source_line
                   else 'phone_number already belongs to another lead of this campaign'
                        || coalesce(' (external_id ' || lp.external_id || ')', '')
               end
       end as reason_taken,
       t.id as target_id,
       case when not %(update_existing)s then coalesce(le.id, lp.id) end as clash_lead
from rows r
left join dup_external_id de on de.external_id = r.external_id
left join dup_phone_key dk on dk.phone = r.phone and r.external_id is null
left join dup_phone dp on dp.phone = r.phone
-- lateral + limit: always an index lookup per row, whatever the (often stale) statistics say
left join lateral (select id, import_id, source_line from outcall_leads
                   where campaign_id = %(campaign_id)s and external_id = r.external_id limit 1) le on true
left join lateral (select id, import_id, source_line, external_id from outcall_leads
                   where campaign_id = %(campaign_id)s and phone_number = r.phone limit 1) lp on true
cross join lateral (select case when r.external_id is not null then le.id else lp.id end as id,
                           case when r.external_id is not null then le.import_id else lp.import_id end as import_id,
                           case when r.external_id is not null then le.source_line else lp.source_line end as source_line) t
