-- Scoring's tables. Every table leads with tenant_id, and so does every key
-- and index. Times are epoch milliseconds UTC; ids are TEXT (UUIDv7, so new
-- rows land at the end of each index); `version` is the row's optimistic
-- concurrency counter (the etag). Encoded protobuf messages are BLOBs.
-- Keep this file and postgres/0001_init.sql in step.

-- Scorecards: the editable draft and the lifecycle state.
CREATE TABLE scorecards (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    state TEXT NOT NULL,
    -- earshot.scoring.v1.ScorecardDefinition
    draft BLOB NOT NULL,
    latest_version BIGINT NOT NULL,
    has_unpublished_changes BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    archived_at BIGINT,
    created_by TEXT NOT NULL,
    created_by_role TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_by_role TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX scorecards_by_created ON scorecards (tenant_id, created_at, id);

-- Published versions: immutable once written.
CREATE TABLE scorecard_versions (
    tenant_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    -- earshot.scoring.v1.ScorecardDefinition, always valid
    definition BLOB NOT NULL,
    published_at BIGINT NOT NULL,
    published_by TEXT NOT NULL,
    published_by_role TEXT NOT NULL,
    change_note TEXT NOT NULL,
    PRIMARY KEY (tenant_id, scorecard_id, version)
);

-- Evaluations: the columns that lists filter and access rules need, and the
-- whole current state as an encoded earshot.scoring.v1.Evaluation.
CREATE TABLE evaluations (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    scorecard_version BIGINT NOT NULL,
    interaction_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    evaluator_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    latest_revision_author TEXT NOT NULL,
    released_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX evaluations_by_created ON evaluations (tenant_id, created_at, id);
CREATE INDEX evaluations_by_agent ON evaluations (tenant_id, agent_id, created_at, id);
CREATE INDEX evaluations_by_evaluator ON evaluations (tenant_id, evaluator_id, created_at, id);
CREATE INDEX evaluations_by_team ON evaluations (tenant_id, team_id, created_at, id);
CREATE INDEX evaluations_by_scorecard ON evaluations (tenant_id, scorecard_id, created_at, id);
CREATE INDEX evaluations_by_interaction ON evaluations (tenant_id, interaction_id);
-- One evaluation per sampling assignment.
CREATE UNIQUE INDEX evaluations_by_assignment ON evaluations (tenant_id, assignment_id)
    WHERE assignment_id <> '';

-- Scored revisions: immutable once written (earshot.scoring.v1.EvaluationRevision).
CREATE TABLE evaluation_revisions (
    tenant_id TEXT NOT NULL,
    evaluation_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (tenant_id, evaluation_id, revision)
);

-- The audit log: one row per state change, written in its transaction.
CREATE TABLE audit_entries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    actor_subject TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    -- a JSON object of short strings
    details TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_by_time ON audit_entries (tenant_id, occurred_at, id);
CREATE INDEX audit_by_resource ON audit_entries (tenant_id, resource_type, resource_id, occurred_at, id);
CREATE INDEX audit_by_actor ON audit_entries (tenant_id, actor_subject, occurred_at, id);

-- Per-tenant settings; no row means the defaults.
CREATE TABLE settings (
    tenant_id TEXT NOT NULL,
    anonymous_evaluation BOOLEAN NOT NULL,
    auto_release_on_submit BOOLEAN NOT NULL,
    evaluators_may_release BOOLEAN NOT NULL,
    dispute_window_ms BIGINT NOT NULL,
    self_evaluation_enabled BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- Idempotency keys of creating calls: the first call's fingerprint and what
-- it created, so a retry returns the same result.
CREATE TABLE requests (
    tenant_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint BIGINT NOT NULL,
    resource_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, operation, request_id)
);
CREATE INDEX requests_by_resource ON requests (tenant_id, operation, resource_id);
