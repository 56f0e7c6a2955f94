-- Each outbox row published once, even across a crash (src/db/outbox-relay.ts).
--
-- A relay claims rows in one autocommitted statement, sends them with their id in an
-- `outbox-id` record header, and in a second statement stamps completed_at, drops the
-- claims and advances its confirmed position per partition. A row claimed but never
-- completed is an orphan: its record may or may not be on the topic. Every record an
-- instance sent for a row not yet completed lies at or past that instance's confirmed
-- position, so reading the topic from there to its end tells which orphans already
-- landed (marked, not resent) and which did not (released, sent again).

-- One row per outbox row being published: it exists from the claim to the mark (or
-- until a recovery settles it), so the table stays as small as the batches in flight.
-- A table of its own rather than columns on outbox: a claim then writes a narrow row
-- instead of a second copy of the payload-wide outbox row and its index entries. No
-- foreign key: claims only exist for pending rows, which the outbox purge never
-- deletes. No index but the key: lookups by owner read a table of a few batches.
create table outbox_claims (
  outbox_id  bigint primary key,
  claimed_by text not null,
  claimed_at timestamptz not null default now()
);
-- A queue table: every row is inserted and deleted within a batch. Vacuum it by count
-- of dead rows, not by a share of its (near zero) live ones, so a claim's read of it
-- stays a few pages.
alter table outbox_claims set (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);

-- One row per relay instance (INSTANCE_ID) and partition: the offset after the last
-- record of its last confirmed batch. Rows exist before an instance's first claim, so
-- a scan for its orphans always has a starting point.
create table outbox_relay_positions (
  instance_id text not null,
  topic       text not null,
  partition   integer not null,
  next_offset bigint not null,
  updated_at  timestamptz not null default now(),
  primary key (instance_id, topic, partition)
);
