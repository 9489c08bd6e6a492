-- One row per judged attempt (a call, or a dial Twilio refused). The table name is a checked
-- schema.table; PostgreSQL types.
create table if not exists {table} (
    campaign       text not null,
    attempt_id     bigint not null,
    call_sid       text,
    lead_id        bigint not null,
    external_id    text,
    to_number      text not null,
    started_at     timestamptz not null,
    ended_at       timestamptz,
    call_status    text not null,
    answered_by    text,
    duration_s     integer,
    price          numeric(12, 5),
    price_unit     text,
    outcome        text,
    goal_met       boolean,
    variables      jsonb,
    transcript     text,
    recording_url  text,
    judged_at      timestamptz not null,
    audit          jsonb,
    primary key (campaign, attempt_id)
)
