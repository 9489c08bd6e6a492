-- Valid rows that cannot be taken, with the field that stops them and its value (masked by the
-- caller before they are stored), and the existing lead a row clashes with.
select line,
       case when reason_taken like 'external_id%%'
                 or (reason_taken like 'duplicate%%' and external_id is not null)
            then 'external_id' else 'phone_number' end as field,
       case when reason_taken like 'external_id%%'
                 or (reason_taken like 'duplicate%%' and external_id is not null)
            then external_id else phone end as value,
       reason_taken,
       clash_lead
from outcall_resolved
where reason_taken is not null
order by line
