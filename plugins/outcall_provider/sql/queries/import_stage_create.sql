-- kind: L = a valid lead row, R = a rejected row, W = a kept row with a dropped value
create temp table if not exists outcall_stage (
    line        int not null,
    kind        char(1) not null,
    external_id text,
    phone       text,
    secondaries text[],
    variables   jsonb,
    field       text,
    value       text,
    reason      text,
    zones       text,       -- the lead's CalleeClock (rules/compliance.py)
    states      text,
    zone_source text,
    consent_at  timestamptz
) on commit drop
