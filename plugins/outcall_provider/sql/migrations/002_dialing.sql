-- Dialing: account-wide pacing, claim leases, and finding attempts that lost their SID.

-- The recent send times of one Twilio account, shared by every dialer (rules/pacing.py).
create table outcall_pacing (
    account_sid  text primary key,
    recent_sends timestamptz[] not null default '{}'
);

-- When a lead was claimed: a claim left by a crashed dialer is released after a while.
alter table outcall_leads add column claimed_at timestamptz;
create index outcall_leads_claimed on outcall_leads (campaign_id, claimed_at) where status = 'scheduled';

-- Why an attempt was not placed, when Twilio refused it or a crash left it without a call.
alter table outcall_attempts add column error text;

-- Post-call variables as the assistant reports them, by call SID. They may arrive before
-- the attempt knows its SID (a dialer crashed before saving it); kept here, nothing is lost.
create table outcall_call_variables (
    call_sid    text primary key,
    variables   jsonb not null,
    received_at timestamptz not null
);
