-- Outbox rows are written once and never updated; which of them are still to be
-- published is a table of its own.
--
-- Before: the relay's mark stamped completed_at on each published row. completed_at
-- was named by both partial indexes, so that update could not be HOT: it wrote a new
-- copy of the whole row (its payload included), a new primary key entry and a
-- completed-index entry, and left a dead row for vacuum. It was a quarter of
-- Postgres' statement time under intake. Now the mark deletes the row's entry here:
-- a narrow row, no index but its key, and the outbox heap has no dead rows until the
-- retention job removes sent rows.

-- One row per outbox row not yet published, from the outbox insert to the mark (or to
-- a recovery that found its record on the topic). As small as the backlog.
create table outbox_pending (
  outbox_id bigint primary key
);
-- A queue table (as outbox_claims): vacuumed by count of dead rows.
alter table outbox_pending set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);

-- Every outbox insert makes its rows pending, whoever writes them (the intake's group
-- commit, the stuck-order job, an operator, a pod of the previous version during a
-- rolling upgrade): one statement per insert statement, reading its transition table.
create function outbox_rows_pending() returns trigger language plpgsql as $$
begin
  insert into outbox_pending (outbox_id) select id from inserted;
  return null;
end $$;
create trigger outbox_rows_pending after insert on outbox
  referencing new table as inserted for each statement execute function outbox_rows_pending();

insert into outbox_pending (outbox_id) select id from outbox where completed_at is null;

-- Gone with the update that wrote them. A relay of the previous version now fails on
-- these columns instead of claiming, as unsent, rows this version has published.
drop index outbox_pending_idx;
drop index outbox_completed_idx;
alter table outbox drop column completed_at, drop column attempts;
-- Archived rows keep what they had; rows archived from now on have no completion time.
alter table outbox_archive alter column completed_at drop not null, alter column attempts drop not null;
