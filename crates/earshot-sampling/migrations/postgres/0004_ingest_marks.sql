-- The last transaction that changed what the repeat-contact probe reads
-- (an ingest commit, an erasure), per tenant: an ingest transaction probes
-- before taking the tenant's ingest lock and compares this mark, read in the
-- probe's snapshot, with the one under the lock to know whether its probe is
-- still current (see `store::ingest`).
CREATE TABLE ingest_marks (
    tenant_id TEXT NOT NULL,
    -- pg_current_xact_id() of the writer: never reused
    writer BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);
