-- A column added to the results tables after this one was created (rules/results.ADDED_COLUMNS).
alter table {table} add column {column} {type}
