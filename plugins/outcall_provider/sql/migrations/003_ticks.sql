-- What the campaign's last tick saw: the lead source it synced and the preflight it passed.
alter table outcall_campaigns add column leads_fingerprint text;
alter table outcall_campaigns add column preflight_fingerprint text;
