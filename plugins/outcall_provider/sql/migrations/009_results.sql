-- Results back to the warehouse (hooks/results.py): what changed since the last export.

-- Every write of a lead or an attempt stamps the transaction that made it. A timestamp cannot
-- serve as the watermark: a transaction that began before an export may commit after it with
-- an older time (and hosts' clocks differ). A transaction id compared with the export's
-- snapshot can: a row is new exactly when its writer was not yet visible to the last export.
create function outcall_stamp_change() returns trigger
language plpgsql as $$
begin
    new.change_xid := pg_current_xact_id();
    return new;
end $$;

alter table outcall_leads add column change_xid xid8;
alter table outcall_attempts add column change_xid xid8;
create trigger outcall_leads_change before insert or update on outcall_leads
    for each row execute function outcall_stamp_change();
create trigger outcall_attempts_change before insert or update on outcall_attempts
    for each row execute function outcall_stamp_change();
create index outcall_leads_changes on outcall_leads (campaign_id, change_xid);
create index outcall_attempts_changes on outcall_attempts (campaign_id, change_xid) where judged_at is not null;

-- One watermark per campaign and destination ('' = no table: the tick's asset event only).
-- `snapshot` is what the last export saw; `run_id` and the counts let a retried task of the
-- same DAG run report what its earlier try wrote.
create table outcall_results_exports (
    campaign_id  bigint not null references outcall_campaigns (id) on delete cascade,
    target       text not null,
    snapshot     pg_snapshot not null,
    run_id       text,
    leads        int not null default 0,
    attempts     int not null default 0,
    exported_at  timestamptz not null,
    primary key (campaign_id, target)
);
