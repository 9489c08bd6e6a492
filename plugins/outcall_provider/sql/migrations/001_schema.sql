-- The campaign store. Every timestamp is written from the application's clock (passed in
-- as a parameter), never from now(), so decisions replay exactly.

create table outcall_campaigns (
    id          bigserial primary key,
    name        text not null unique,
    spec        jsonb not null,                 -- the validated campaign file
    status      text not null default 'draft'
                check (status in ('draft', 'in_progress', 'paused', 'completed')),
    created_at  timestamptz not null,
    updated_at  timestamptz not null
);

-- Leads and contacts carry no foreign keys: a per-row FK check doubles the cost of a bulk
-- import. CampaignHook deletes a campaign's leads and contacts with the campaign.
create table outcall_leads (
    id           bigserial primary key,
    campaign_id  bigint not null,
    external_id  text,                          -- upsert key when the source has one
    phone_number text not null,                 -- primary contact (contact 0), E.164
    phone_invalid_reason text,                  -- set when Twilio refuses the primary number
    contact_count int not null default 1,       -- the primary plus its secondary contacts
    variables    jsonb not null default '{}',   -- handed to the assistant
    status       text not null default 'created'
                 check (status in ('created', 'scheduled', 'processing', 'rescheduled',
                                   'completed', 'max_retries')),
    cycle        int not null default 1,        -- bumped when a person sets the lead back to created
    round        int not null default 1,        -- max_attempts counts rounds
    contact_index int not null default 0,       -- next contact to dial in this round
    due_at       timestamptz not null,          -- earliest moment of the next dial
    goal_met     boolean,
    last_outcome text,
    import_id    bigint,                        -- the import that last wrote this lead
    source_line  int,                           -- and the line it came from
    created_at   timestamptz not null,
    updated_at   timestamptz not null
);
create unique index outcall_leads_external_id on outcall_leads (campaign_id, external_id)
    where external_id is not null;
create unique index outcall_leads_phone on outcall_leads (campaign_id, phone_number);
-- The claim query walks this index: due leads of one campaign in due order.
create index outcall_leads_due on outcall_leads (campaign_id, due_at, id)
    where status in ('created', 'rescheduled');

-- Secondary contacts 1..10 in the order added (contact 0 is the lead's own phone_number).
create table outcall_contacts (
    lead_id        bigint not null,
    position       int not null check (position between 1 and 10),
    phone_number   text not null,
    invalid_reason text,                        -- set when Twilio refuses the number
    primary key (lead_id, position)
);

-- Written before Twilio is asked to call; the SID is stored after. Unique per lead,
-- cycle, round and contact: a second dial of the same attempt cannot be recorded.
create table outcall_attempts (
    id             bigserial primary key,
    campaign_id    bigint not null references outcall_campaigns (id) on delete cascade,
    lead_id        bigint not null references outcall_leads (id) on delete cascade,
    cycle          int not null,
    round          int not null,
    contact_index  int not null,
    to_number      text not null,
    from_number    text not null,
    started_at     timestamptz not null,
    call_sid       text unique,
    call_status    text not null default 'dialing',
    answered_by    text,
    duration_s     int,
    price          numeric(12, 5),
    price_unit     text,
    variables      jsonb,
    variables_at   timestamptz,
    ended_at       timestamptz,
    outcome        text,                        -- the rule's action once the attempt is judged
    outcome_reason text,
    outcome_note   text,
    goal_met       boolean,
    judged_at      timestamptz,
    unique (lead_id, cycle, round, contact_index)
);
create index outcall_attempts_open on outcall_attempts (campaign_id, started_at)
    where judged_at is null;

create table outcall_import_reports (
    id           bigserial primary key,
    campaign_id  bigint not null references outcall_campaigns (id) on delete cascade,
    source       text not null,
    started_at   timestamptz not null,
    finished_at  timestamptz,
    imported     int not null default 0,
    updated      int not null default 0,
    rejected     int not null default 0,
    error        text                           -- a file-level error (no header, bad columns)
);

create table outcall_import_rejects (
    report_id  bigint not null references outcall_import_reports (id) on delete cascade,
    line       int not null,
    field      text,
    value      text,
    reason     text not null,
    skipped_row boolean not null default true   -- false: the lead was kept, only this contact dropped
);
create index outcall_import_rejects_report on outcall_import_rejects (report_id, line);
