-- Pushes of different repositories no longer take turns (issue 12's throughput goal). A push
-- used to add its change of each (series, bucket) total straight into series_buckets under a
-- per-org lock; every push of a series touches the same 52 rows, so pushes either waited on the
-- lock or, without it, on the rows (measured 3x the PostgreSQL CPU). Now a push appends its
-- changes here, insert-only, under locks on the repositories it pushes (org/store.ts), and a
-- fold moves them into series_buckets in one transaction, one folder per org at a time.
-- Readers sum both through series_totals, so a total is exact whatever has been folded.
CREATE TABLE series_bucket_deltas (
  org_id    bigint NOT NULL,
  series_id bigint NOT NULL,
  bucket    timestamptz NOT NULL,
  total     bigint NOT NULL,
  repos     integer NOT NULL
);
CREATE INDEX series_bucket_deltas_series ON series_bucket_deltas (org_id, series_id);

ALTER TABLE series_bucket_deltas ENABLE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON series_bucket_deltas USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
GRANT SELECT, INSERT, DELETE ON series_bucket_deltas TO code_insights_app;

-- The org-wide sum of a series per bucket: the folded totals plus the changes not folded yet.
-- security_invoker: the reader's row-level security applies, not the view owner's.
CREATE VIEW series_totals WITH (security_invoker = true) AS
  SELECT org_id, series_id, bucket, sum(total)::bigint AS total, sum(repos)::integer AS repos
  FROM (
    SELECT org_id, series_id, bucket, total, repos FROM series_buckets
    UNION ALL
    SELECT org_id, series_id, bucket, total, repos FROM series_bucket_deltas
  ) t
  GROUP BY org_id, series_id, bucket;
GRANT SELECT ON series_totals TO code_insights_app;
