/**
 * Schema migrations, applied in order at start; `PRAGMA user_version` (SQLite) records how many
 * have run. Never edit a released migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE repositories (
    name TEXT PRIMARY KEY,
    plugin TEXT NOT NULL,
    config TEXT NOT NULL,
    secrets TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE packages (
    repository TEXT NOT NULL REFERENCES repositories(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    secrets TEXT NOT NULL,
    poll_interval_ms INTEGER,
    fingerprint TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (repository, name)
  );
  CREATE TABLE pipelines (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    source TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE materials (
    fingerprint TEXT PRIMARY KEY,
    plugin TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}',
    last_check_at TEXT,
    next_check_at TEXT,
    last_error TEXT,
    last_error_code TEXT,
    failures INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL REFERENCES materials(fingerprint),
    revision TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    user TEXT,
    comment TEXT,
    trackback_url TEXT,
    data TEXT NOT NULL,
    discovered_at TEXT NOT NULL,
    UNIQUE (fingerprint, revision)
  );
  CREATE TABLE checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL REFERENCES materials(fingerprint),
    started_at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    new_revisions TEXT NOT NULL,
    error_code TEXT,
    error TEXT,
    decision TEXT NOT NULL,
    trigger TEXT NOT NULL
  );
  CREATE INDEX checks_by_material ON checks (fingerprint, id);
  `,
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline TEXT NOT NULL,
    counter INTEGER NOT NULL,
    status TEXT NOT NULL,
    cause TEXT NOT NULL,
    revision_key TEXT NOT NULL,
    trigger TEXT NOT NULL,
    triggered_by TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (pipeline, counter)
  );
  CREATE INDEX runs_by_key ON runs (pipeline, revision_key);
  CREATE TABLE stages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    approval TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    UNIQUE (run_id, name)
  );
  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stage_id INTEGER NOT NULL REFERENCES stages(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    exit_code INTEGER,
    error TEXT,
    UNIQUE (stage_id, name)
  );
  `,
  `
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome INTEGER NOT NULL
  );
  `,
  `
  ALTER TABLE stages ADD COLUMN approval_comment TEXT;
  `,
  `
  ALTER TABLE materials ADD COLUMN lease_owner TEXT;
  ALTER TABLE materials ADD COLUMN lease_until INTEGER;
  ALTER TABLE materials ADD COLUMN due_trigger TEXT;
  CREATE INDEX materials_due ON materials (next_check_at);
  ALTER TABLE checks ADD COLUMN instance TEXT;
  ALTER TABLE runs ADD COLUMN lease_owner TEXT;
  ALTER TABLE runs ADD COLUMN lease_until INTEGER;
  CREATE INDEX runs_by_status ON runs (status);
  ALTER TABLE jobs ADD COLUMN instance TEXT;
  CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    url TEXT NOT NULL,
    version TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  `
  ALTER TABLE runs ADD COLUMN trigger_key TEXT;
  CREATE UNIQUE INDEX runs_by_trigger ON runs (pipeline, trigger_key);
  ALTER TABLE pipelines ADD COLUMN scheduling_error TEXT;
  ALTER TABLE jobs ADD COLUMN pgid INTEGER;
  ALTER TABLE jobs ADD COLUMN process_start TEXT;
  ALTER TABLE jobs ADD COLUMN host TEXT;
  CREATE INDEX jobs_with_process ON jobs (host) WHERE pgid IS NOT NULL;
  CREATE TABLE pending_triggers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    fingerprint TEXT,
    revision_ids TEXT,
    check_trigger TEXT,
    run_id INTEGER,
    stage TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER
  );
  `,
  `
  CREATE INDEX revisions_by_material ON revisions (fingerprint, id);
  `,
  `
  CREATE TABLE pipeline_locks (
    pipeline TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    counter INTEGER NOT NULL,
    taken_at TEXT NOT NULL
  );
  ALTER TABLE runs ADD COLUMN lock_wait TEXT;
  CREATE INDEX runs_waiting_for_lock ON runs (pipeline, counter) WHERE lock_wait IS NOT NULL;
  `,
  `
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    pipeline TEXT,
    body TEXT NOT NULL
  );
  CREATE INDEX events_by_at ON events (at);
  CREATE TABLE notifications (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    secret TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE notification_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    event_id INTEGER NOT NULL
  );
  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT,
    response_code INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    UNIQUE (notification, event_id)
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE INDEX deliveries_of ON deliveries (notification, id);
  `,
  `
  CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    resources TEXT NOT NULL,
    environments TEXT NOT NULL DEFAULT '[]',
    version TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    heartbeat_at INTEGER,
    draining INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE agent_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
    run_id INTEGER NOT NULL,
    pipeline TEXT NOT NULL,
    counter INTEGER NOT NULL,
    stage TEXT NOT NULL,
    job TEXT NOT NULL,
    resources TEXT NOT NULL,
    environment TEXT,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    agent_id TEXT,
    scheduled_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    heartbeat_at INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    log_bytes INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX agent_jobs_open ON agent_jobs (state, id) WHERE state <> 'done';
  CREATE INDEX agent_jobs_by_job ON agent_jobs (job_id, id);
  CREATE TABLE agent_log (
    agent_job_id INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (agent_job_id, byte_offset)
  );
  `,
];
