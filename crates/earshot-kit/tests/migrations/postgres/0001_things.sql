CREATE TABLE things (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    flag BOOLEAN NOT NULL,
    score DOUBLE PRECISION,
    at_ms BIGINT NOT NULL,
    blob BYTEA,
    PRIMARY KEY (tenant_id, id)
);
