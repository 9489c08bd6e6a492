-- The campaign's stored compliance section (Campaign.to_dict()): the callee hours an import
-- judges its leads by (does a lead's numbers share a calling hour at all).
select spec -> 'compliance' as compliance
from outcall_campaigns where id = %(campaign_id)s
