-- What an import needs to know of the campaign's calls: its name and, for a media stream, the
-- stream_url (the lead's variables go into that call's TwiML).
select name, spec -> 'assistant' ->> 'stream_url' as stream_url
from outcall_campaigns where id = %(campaign_id)s
