-- Earshot sampling: initial schema. Every table leads with tenant_id and so
-- does every key and index. Times are epoch milliseconds UTC (BIGINT); ids
-- are TEXT; encoded protobuf is BLOB (BYTEA on PostgreSQL).

-- The tenant's settings: the encoded earshot.sampling.v1.Settings
-- (definition fields only); revision is the etag.
CREATE TABLE settings (
    tenant_id TEXT NOT NULL PRIMARY KEY,
    body BLOB NOT NULL,
    revision BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_role TEXT NOT NULL
);

-- Interactions as the ACD/CRM reported them, with their late facts
-- summarised (surveys and feedback live in their own tables). The table is
-- stored in arrival order of writes; the one unique index is the primary
-- key (tenant_id, id).
CREATE TABLE interactions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    channel BIGINT NOT NULL,
    direction BIGINT NOT NULL,
    agent_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    arrived_at BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT,
    wait_ms BIGINT,
    talk_ms BIGINT,
    hold_ms BIGINT,
    acw_ms BIGINT,
    handle_ms BIGINT,
    disposition TEXT NOT NULL,
    customer_ref TEXT NOT NULL,
    transferred BOOLEAN NOT NULL,
    abandoned BOOLEAN NOT NULL,
    escalated BOOLEAN NOT NULL,
    language TEXT NOT NULL,
    attributes TEXT NOT NULL,
    recording_uri TEXT NOT NULL,
    transcript_uri TEXT NOT NULL,
    source_update_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    min_csat BIGINT,
    nps_detractor BOOLEAN NOT NULL,
    has_survey BOOLEAN NOT NULL,
    has_complaint BOOLEAN NOT NULL,
    repeat_interaction_id TEXT,
    repeat_at BIGINT,
    repeat_source BIGINT,
    repeat_reason TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX interactions_by_arrival ON interactions (tenant_id, arrived_at);
CREATE INDEX interactions_by_agent ON interactions (tenant_id, agent_id, arrived_at);
-- Repeat contacts: a customer's contacts by arrival, covering what the
-- repeat-contact query reads, so ingest never fetches older rows for it.
CREATE INDEX interactions_by_customer ON interactions
    (tenant_id, customer_ref, arrived_at, direction, id)
    WHERE customer_ref <> '';

CREATE TABLE surveys (
    tenant_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    survey_id TEXT NOT NULL,
    csat BIGINT,
    nps BIGINT,
    comment TEXT NOT NULL,
    respond_at BIGINT NOT NULL,
    survey_type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, interaction_id, survey_id)
);

CREATE TABLE feedback (
    tenant_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    feedback_id TEXT NOT NULL,
    kind BIGINT NOT NULL,
    category TEXT NOT NULL,
    body TEXT NOT NULL,
    receive_at BIGINT NOT NULL,
    resolved_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, interaction_id, feedback_id)
);

-- Plans: one row per plan (its latest version and state) and one per
-- version (the encoded SamplingPlan definition, immutable).
CREATE TABLE plans (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    state BIGINT NOT NULL,
    seed BIGINT NOT NULL,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_role TEXT NOT NULL,
    archived_at BIGINT,
    revision BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX plans_by_name ON plans (tenant_id, display_name, id);

CREATE TABLE plan_versions (
    tenant_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    body BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_role TEXT NOT NULL,
    PRIMARY KEY (tenant_id, plan_id, version)
);

-- Idempotency keys of creating calls.
CREATE TABLE request_ids (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, request_id)
);

-- One plan period: opened by its first eligible interaction, closed once
-- (closed_at set in the transaction that tops it up).
CREATE TABLE plan_periods (
    tenant_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    closed_at BIGINT,
    close_version BIGINT,
    top_up_selections BIGINT NOT NULL,
    agents_below_min BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, plan_id, period_start)
);

-- One agent in one plan period: the threshold fixed when it opened and the
-- counters the quota rules read.
CREATE TABLE agent_periods (
    tenant_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    agent_id TEXT NOT NULL,
    period_end BIGINT NOT NULL,
    expected_volume DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    expected_random BIGINT NOT NULL,
    multiplier DOUBLE PRECISION NOT NULL,
    agent_p95_ms BIGINT,
    strata_expected TEXT NOT NULL,
    strata_counts TEXT NOT NULL,
    eligible BIGINT NOT NULL,
    random BIGINT NOT NULL,
    top_up BIGINT NOT NULL,
    targeted BIGINT NOT NULL,
    team_id TEXT NOT NULL,
    latest_arrival BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, plan_id, period_start, agent_id)
);

-- Targeted selections per rule, per agent ('' for the whole plan period).
CREATE TABLE rule_counts (
    tenant_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    agent_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, plan_id, period_start, agent_id, rule_id)
);

-- Decisions to evaluate an interaction; never deleted. A plan selects an
-- interaction at most once ('' is the manual "plan").
CREATE TABLE selections (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    plan_version BIGINT NOT NULL,
    period_start BIGINT,
    period_end BIGINT,
    reason BIGINT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_kind BIGINT NOT NULL,
    stratum TEXT NOT NULL,
    draw DOUBLE PRECISION NOT NULL,
    new_hire BOOLEAN NOT NULL,
    matched_rule_ids TEXT NOT NULL,
    selected_at BIGINT NOT NULL,
    assignment_id TEXT NOT NULL,
    selected_by TEXT NOT NULL,
    selected_role TEXT NOT NULL,
    note TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    dims BLOB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX selections_once ON selections (tenant_id, interaction_id, plan_id);
CREATE INDEX selections_by_time ON selections (tenant_id, selected_at, id);

-- Assignments: at most one that is not cancelled (state 5) per interaction.
CREATE TABLE assignments (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    selection_id TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    plan_version BIGINT NOT NULL,
    period_start BIGINT,
    period_end BIGINT,
    reason BIGINT NOT NULL,
    rule_id TEXT NOT NULL,
    state BIGINT NOT NULL,
    evaluator_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    route_at BIGINT,
    claim_at BIGINT,
    complete_at BIGINT,
    evaluation_id TEXT NOT NULL,
    overdue BOOLEAN NOT NULL,
    reroute_count BIGINT NOT NULL,
    cancel_reason TEXT NOT NULL,
    revision BIGINT NOT NULL,
    agent_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    channel BIGINT NOT NULL,
    language TEXT NOT NULL,
    pool BIGINT NOT NULL,
    dims BLOB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX assignments_open_once ON assignments (tenant_id, interaction_id)
    WHERE state <> 5;
CREATE INDEX assignments_by_evaluator ON assignments (tenant_id, evaluator_id, state, due_at);
CREATE INDEX assignments_by_state ON assignments (tenant_id, state, due_at);
CREATE INDEX assignments_by_agent ON assignments (tenant_id, agent_id, period_start);

-- The evaluator directory: the encoded Evaluator definition plus the
-- columns queries filter on.
CREATE TABLE evaluators (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    body BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX evaluators_by_name ON evaluators (tenant_id, display_name, id);

-- Assignments routed to each evaluator per local day (capacity).
CREATE TABLE evaluator_days (
    tenant_id TEXT NOT NULL,
    evaluator_id TEXT NOT NULL,
    day_start BIGINT NOT NULL,
    routed BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, evaluator_id, day_start)
);
