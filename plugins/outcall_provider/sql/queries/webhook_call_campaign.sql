-- Which campaign a call belongs to, for checking the assistant's variables against it.
select a.id as attempt_id, a.campaign_id, c.spec -> 'assistant' -> 'post_call_variables' as post_call_variables,
       c.spec -> 'compliance' ->> 'opt_out_variable' as opt_out_variable
from outcall_attempts a
join outcall_campaigns c on c.id = a.campaign_id
where a.call_sid = %(call_sid)s
