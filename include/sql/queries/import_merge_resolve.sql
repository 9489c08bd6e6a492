-- Match each staged lead to the lead it updates (by external_id, else by primary phone)
-- and decide why a row cannot be taken, in one pass.
create temp table outcall_resolved on commit drop as
with ranked as (
    select s.*,
           row_number() over (partition by coalesce('e:' || s.external_id, 'p:' || s.phone) order by s.line) as key_rank,
           min(s.line) over (partition by coalesce('e:' || s.external_id, 'p:' || s.phone)) as key_first,
           row_number() over (partition by s.phone order by s.line) as phone_rank,
           min(s.line) over (partition by s.phone) as phone_first
    from outcall_stage s
    where s.kind = 'L'
), matched as (
    select r.*,
           case when r.external_id is not null then le.id else lp.id end as target_id,
           case when r.external_id is not null then le.import_id else lp.import_id end as target_import,
           case when r.external_id is not null then le.source_line else lp.source_line end as target_line,
           lp.id as phone_owner, lp.import_id as phone_owner_import, lp.source_line as phone_owner_line,
           lp.external_id as phone_owner_external_id
    from ranked r
    left join outcall_leads le on le.campaign_id = %(campaign_id)s and le.external_id = r.external_id
    left join outcall_leads lp on lp.campaign_id = %(campaign_id)s and lp.phone_number = r.phone
)
select m.*,
       case
           when m.key_rank > 1 then
               'duplicate of line ' || m.key_first || case when m.external_id is not null
                   then ' (same external_id)' else ' (same phone_number)' end
           when m.target_import = %(report_id)s then
               'duplicate of line ' || m.target_line || case when m.external_id is not null
                   then ' (same external_id)' else ' (same phone_number)' end
           when m.phone_rank > 1 then 'phone_number repeats line ' || m.phone_first
           when m.phone_owner is not null and m.phone_owner is distinct from m.target_id then
               case when m.phone_owner_import = %(report_id)s
                   then 'phone_number repeats line ' || m.phone_owner_line
                   else 'phone_number already belongs to another lead of this campaign'
                        || coalesce(' (external_id ' || m.phone_owner_external_id || ')', '')
               end
       end as reason_taken
from matched m
