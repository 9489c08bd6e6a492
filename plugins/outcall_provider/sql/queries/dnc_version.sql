-- The version of the lists as a whole (bumped by a trigger on every change).
select version from outcall_dnc_version
