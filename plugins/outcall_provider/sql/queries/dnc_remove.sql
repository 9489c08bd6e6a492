-- Take a number off one list, or off every list when list is null; returns the lists it left.
delete from outcall_dnc
where phone_number = %(phone_number)s and (%(list)s::text is null or list = %(list)s)
returning list
