-- Calibration: sessions, their participants and interactions, responses,
-- idempotency records, participants' trend points and tenant settings.
-- Every table leads with tenant_id, and so does every key and index.
-- Times are epoch milliseconds UTC; protobuf bodies are the service's own
-- encoded messages (the columns beside them are what queries filter on).

CREATE TABLE settings (
    tenant_id TEXT NOT NULL,
    etag TEXT NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (tenant_id)
);

CREATE TABLE sessions (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    state INTEGER NOT NULL,
    scorecard_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    final_at BIGINT,
    etag TEXT NOT NULL,
    -- Bumped by every response write, so a submission and a close serialise
    -- on the session row; never shown (the etag does not move with responses).
    response_seq BIGINT NOT NULL DEFAULT 0,
    body BYTEA NOT NULL,
    scorecard BYTEA NOT NULL,
    results BYTEA,
    PRIMARY KEY (tenant_id, session_id)
);
CREATE UNIQUE INDEX sessions_by_request ON sessions (tenant_id, request_id);
CREATE INDEX sessions_by_created ON sessions (tenant_id, created_at, session_id);

CREATE TABLE session_participants (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, session_id, participant_id)
);
CREATE INDEX session_participants_by_participant
    ON session_participants (tenant_id, participant_id, created_at, session_id);

CREATE TABLE session_interactions (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, session_id, interaction_id)
);
CREATE INDEX session_interactions_by_interaction
    ON session_interactions (tenant_id, interaction_id);

CREATE TABLE responses (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    response_id TEXT NOT NULL,
    interaction_pos INTEGER NOT NULL,
    participant_pos INTEGER NOT NULL,
    submitted_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    late BOOLEAN NOT NULL,
    revision INTEGER NOT NULL,
    etag TEXT NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, session_id, interaction_id, participant_id)
);
CREATE UNIQUE INDEX responses_by_id ON responses (tenant_id, response_id);
CREATE INDEX responses_in_order
    ON responses (tenant_id, session_id, interaction_pos, participant_pos);

CREATE TABLE submit_requests (
    tenant_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, participant_id, request_id)
);

CREATE TABLE trend_points (
    tenant_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    final_at BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    deviations TEXT NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, participant_id, final_at, session_id)
);
