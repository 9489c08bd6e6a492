-- The numbers of one import or sync, COPYed in before they are merged into the list.
create temp table if not exists outcall_dnc_stage (
    phone_number text not null
) on commit drop
