-- Personal-data protection: where the tenant's retention purge has reached
-- in the change feed, and a record of every erasure and purge (who, when,
-- how many records; never the customer reference itself).
CREATE TABLE retention_state (
    tenant_id TEXT NOT NULL,
    purged_through BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

CREATE TABLE privacy_actions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor_subject TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    -- a JSON object: kind of record -> how many were changed
    details TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX privacy_actions_by_time ON privacy_actions (tenant_id, occurred_at);
