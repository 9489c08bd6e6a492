-- The warehouse table of a campaign's results: one row per lead, as it stands now (README,
-- "Results back to the warehouse"). The table name is a checked schema.table; PostgreSQL types.
create table if not exists {table} (
    campaign      text not null,
    lead_id       bigint not null,
    external_id   text,
    phone_number  text not null,
    status        text not null,
    attempts      integer not null,
    last_outcome  text,
    goal_met      boolean,
    variables     jsonb,
    updated_at    timestamptz not null,
    primary key (campaign, lead_id)
)
