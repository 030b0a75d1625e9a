-- The worker fleet (issue 13): an org's repositories, the insights the org defines for them, the
-- state of each (insight, repository) computation, and the heartbeats of worker processes.
-- The jobs themselves live in graphile-worker's own schema (graphile_worker), created by the
-- first worker or enqueuer on PostgreSQL; these tables hold what the org service shows and checks.

-- A repository the org asked to have computed. identity is the normalised clone URL
-- (host/owner/name, as the engine's repo identity) or `path:` + the absolute path of a local one:
-- adding the same repository twice finds the existing row.
CREATE TABLE fleet_repos (
  org_id          bigint NOT NULL REFERENCES orgs (id),
  id              bigint GENERATED ALWAYS AS IDENTITY,
  url             text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  identity        text NOT NULL CHECK (length(identity) BETWEEN 1 AND 2048),
  added_at        timestamptz NOT NULL DEFAULT now(),
  -- The head last seen by the scheduled refresh (git ls-remote) or computed by a worker.
  head_seen       text,
  head_checked_at timestamptz,
  -- ok | unreachable (the last head check failed; its message in last_error)
  status          text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'unreachable')),
  last_error      text,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, identity)
);

-- An insight defined on the org: one insight of an insights.json file (the same format and
-- validation as .vscode/insights.json), with the repositories it covers.
CREATE TABLE fleet_insights (
  org_id       bigint NOT NULL REFERENCES orgs (id),
  id           bigint GENERATED ALWAYS AS IDENTITY,
  name         text NOT NULL,
  definition   jsonb NOT NULL,
  scope_kind   text NOT NULL CHECK (scope_kind IN ('all', 'regex', 'list')),
  scope_regex  text,
  scope_repos  text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, name)
);

-- One row per (insight, repository) ever queued: what the status page counts.
CREATE TABLE fleet_runs (
  org_id        bigint NOT NULL,
  insight_id    bigint NOT NULL,
  repo_id       bigint NOT NULL,
  state         text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
  attempts      integer NOT NULL DEFAULT 0,
  runs          integer NOT NULL DEFAULT 0,
  last_error    text,
  computed_head text,
  queued_at     timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  duration_ms   integer,
  PRIMARY KEY (org_id, insight_id, repo_id)
);

ALTER TABLE fleet_repos ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleet_insights ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleet_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON fleet_repos USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
CREATE POLICY org_isolation ON fleet_insights USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
CREATE POLICY org_isolation ON fleet_runs USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON fleet_repos, fleet_insights, fleet_runs TO code_insights_app;

-- Worker processes' graphile-worker ids and heartbeats. graphile-worker frees the jobs of a
-- crashed worker only after a fixed 4 hours; a live worker that finds another's heartbeat older
-- than the lock timeout frees its jobs at once (graphile-worker's forceUnlockWorkers).
-- Not org data: the service role has no access.
CREATE TABLE fleet_workers (
  worker_id    text PRIMARY KEY,
  host         text NOT NULL,
  pid          integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
