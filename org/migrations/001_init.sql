-- Initial schema of the org service.
-- Every table that holds an org's data leads with org_id: it is the isolation key (row-level
-- security below) and the natural distribution column for Citus later (all primary and unique
-- keys include it, so each can be co-located per org).

-- The role the service queries as: not the owner of the tables, never BYPASSRLS, so the policies
-- below always apply to it. Roles are cluster-wide; another database may have created it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'code_insights_app') THEN
    BEGIN
      CREATE ROLE code_insights_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  -- The connecting user switches to the role per transaction (SET LOCAL ROLE): it must be a member.
  BEGIN
    EXECUTE format('GRANT code_insights_app TO %I', current_user);
  EXCEPTION WHEN others THEN NULL; -- already a member, or a superuser (needs no membership)
  END;
END
$$;

CREATE TABLE orgs (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Tokens are stored only as SHA-256 hashes of the whole token string.
CREATE TABLE tokens (
  org_id     bigint NOT NULL REFERENCES orgs (id),
  id         bigint GENERATED ALWAYS AS IDENTITY,
  hash       bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
  prefix     text NOT NULL,
  scope      text NOT NULL CHECK (scope IN ('read', 'write')),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  PRIMARY KEY (org_id, id)
);

-- Series definitions as the engine hashed them (series_key = the engine's id).
CREATE TABLE series (
  org_id            bigint NOT NULL REFERENCES orgs (id),
  id                bigint GENERATED ALWAYS AS IDENTITY,
  series_key        text NOT NULL CHECK (series_key ~ '^[0-9a-f]{16,64}$'),
  label             text NOT NULL,
  query             text NOT NULL,
  kind              text NOT NULL,
  literal           boolean NOT NULL,
  ignore_case       boolean NOT NULL,
  count_mode        text NOT NULL,
  include           text[] NOT NULL,
  exclude           text[] NOT NULL,
  max_file_size     bigint NOT NULL,
  semantics_version integer NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, series_key)
);

-- Repository identities, numbered so each point row carries 8 bytes instead of the URL, and so
-- a repository regex is evaluated once per repository, not once per point.
CREATE TABLE repos (
  org_id   bigint NOT NULL REFERENCES orgs (id),
  id       bigint GENERATED ALWAYS AS IDENTITY,
  identity text NOT NULL,
  PRIMARY KEY (org_id, id),
  UNIQUE (org_id, identity)
);

-- One repository's value of one series at one bucket. The newest commit wins (ingest decides).
-- No foreign keys to series/repos: ingest resolves both ids itself inside the same transaction,
-- and a per-row FK probe would cost a third of the ingest throughput.
CREATE TABLE points (
  org_id      bigint NOT NULL,
  series_id   bigint NOT NULL,
  repo_id     bigint NOT NULL,
  bucket      timestamptz NOT NULL,
  commit_sha  bytea NOT NULL,
  commit_time timestamptz NOT NULL,
  value       bigint NOT NULL CHECK (value >= 0),
  PRIMARY KEY (org_id, series_id, repo_id, bucket)
);

-- Sum over the org's repositories per (series, bucket), kept current by ingest (it applies the
-- delta of every replaced point), so an unfiltered dashboard read costs O(buckets).
CREATE TABLE series_buckets (
  org_id    bigint NOT NULL,
  series_id bigint NOT NULL,
  bucket    timestamptz NOT NULL,
  total     bigint NOT NULL,
  repos     integer NOT NULL,
  PRIMARY KEY (org_id, series_id, bucket)
);

-- The org of the current transaction, set by the service with set_config('app.org_id', id, true)
-- (transaction-local). Unset or empty: NULL, which matches no row.
CREATE FUNCTION ci_current_org() RETURNS bigint
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.org_id', true), '')::bigint $$;

ALTER TABLE series ENABLE ROW LEVEL SECURITY;
ALTER TABLE repos ENABLE ROW LEVEL SECURITY;
ALTER TABLE points ENABLE ROW LEVEL SECURITY;
ALTER TABLE series_buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
ALTER TABLE tokens ENABLE ROW LEVEL SECURITY;

CREATE POLICY org_isolation ON series USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
CREATE POLICY org_isolation ON repos USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
CREATE POLICY org_isolation ON points USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
CREATE POLICY org_isolation ON series_buckets USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
CREATE POLICY org_isolation ON orgs USING (id = ci_current_org());
-- tokens: no policy for the service role, and no privilege either: it reaches them only through
-- ci_authenticate() below, which answers for one hash and nothing else.

-- Token lookup for the service role: the only door to the tokens table.
CREATE FUNCTION ci_authenticate(token_hash bytea)
  RETURNS TABLE (org_id bigint, org_name text, scope text)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path FROM CURRENT
  AS $$
    SELECT t.org_id, o.name, t.scope
    FROM tokens t JOIN orgs o ON o.id = t.org_id
    WHERE t.hash = token_hash AND t.revoked_at IS NULL
  $$;

REVOKE ALL ON FUNCTION ci_authenticate(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ci_authenticate(bytea) TO code_insights_app;
GRANT EXECUTE ON FUNCTION ci_current_org() TO code_insights_app;
GRANT SELECT ON orgs TO code_insights_app;
GRANT SELECT, INSERT, UPDATE ON series, repos, points, series_buckets TO code_insights_app;
