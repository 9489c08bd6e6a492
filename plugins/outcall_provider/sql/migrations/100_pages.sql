-- The Campaigns page and its webhooks.

-- Twilio numbers each call's status callbacks 0, 1, 2, …; keeping the highest one applied
-- lets a late or repeated callback be ignored instead of moving the call backwards.
alter table outcall_attempts add column callback_seq int;

-- One index serves every leads page: the page query walks it once per status
-- (newest lead first), so an unfiltered page and a one-status page both read ~50 entries.
create index outcall_leads_page on outcall_leads (campaign_id, status, id);

-- The calls table pages by id; "calls today" is a range on started_at.
create index outcall_attempts_page on outcall_attempts (campaign_id, id);
create index outcall_attempts_started on outcall_attempts (campaign_id, started_at);

-- Leads by campaign, status and goal, kept as deltas so the Campaigns list never counts a
-- million rows. Every statement that writes leads appends its net change (one row per
-- status/goal it moved); nothing is updated in place, so concurrent writers (claims, outcomes,
-- a long import) never wait on each other here. Readers sum; page_lead_counts_compact folds
-- the deltas back into one row per group.
create table outcall_lead_counts (
    campaign_id bigint not null,
    status      text not null,
    goal_met    boolean not null,
    n           bigint not null
);
create index outcall_lead_counts_campaign on outcall_lead_counts (campaign_id);

create function outcall_lead_counts_delta() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into outcall_lead_counts
        select campaign_id, status, coalesce(goal_met, false), count(*) from new_rows group by 1, 2, 3;
    elsif tg_op = 'DELETE' then
        insert into outcall_lead_counts
        select campaign_id, status, coalesce(goal_met, false), -count(*) from old_rows group by 1, 2, 3;
    else
        insert into outcall_lead_counts
        select campaign_id, status, goal_met, sum(n) from (
            select campaign_id, status, coalesce(goal_met, false) as goal_met, 1 as n from new_rows
            union all
            select campaign_id, status, coalesce(goal_met, false), -1 from old_rows) d
        group by 1, 2, 3
        having sum(n) <> 0;
    end if;
    return null;
end $$;

create trigger outcall_lead_counts_insert after insert on outcall_leads
    referencing new table as new_rows for each statement execute function outcall_lead_counts_delta();
create trigger outcall_lead_counts_update after update on outcall_leads
    referencing old table as old_rows new table as new_rows
    for each statement execute function outcall_lead_counts_delta();
create trigger outcall_lead_counts_delete after delete on outcall_leads
    referencing old table as old_rows for each statement execute function outcall_lead_counts_delta();

create function outcall_lead_counts_reset() returns trigger language plpgsql as $$
begin
    delete from outcall_lead_counts;
    return null;
end $$;
create trigger outcall_lead_counts_truncate after truncate on outcall_leads
    for each statement execute function outcall_lead_counts_reset();

-- Counts of leads that exist already when this migration runs.
insert into outcall_lead_counts
select campaign_id, status, coalesce(goal_met, false), count(*) from outcall_leads group by 1, 2, 3;
