-- The Campaigns page lists a campaign's leads by last activity (page_leads_activity.sql), newest
-- first, a page at a time: one step down this index instead of a sort of every lead.
create index outcall_leads_activity on outcall_leads (campaign_id, updated_at desc, id desc);
