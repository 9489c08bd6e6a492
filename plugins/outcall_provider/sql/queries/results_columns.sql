-- The columns a warehouse table has (standard information_schema; names compared lowercased,
-- as unquoted identifiers fold). Schema and name are checked plain identifiers.
select lower(column_name), lower(data_type)
from information_schema.columns
where lower(table_schema) = lower('{schema}') and lower(table_name) = lower('{name}')
