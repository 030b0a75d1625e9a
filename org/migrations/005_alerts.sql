-- Org alerts (issue 14 §4): rules on an org series, their state, every firing and resolution
-- (alert_events) and every webhook delivery (alert_deliveries). Deliveries are sent by
-- graphile-worker jobs on PostgreSQL (task alert_deliver) and by the service itself on PGlite.

CREATE TABLE alert_rules (
  org_id          bigint NOT NULL REFERENCES orgs (id),
  id              bigint GENERATED ALWAYS AS IDENTITY,
  -- the series' engine id (series.series_key): a rule may exist before its series is pushed
  series_key      text NOT NULL CHECK (series_key ~ '^[0-9a-f]{16,64}$'),
  kind            text NOT NULL CHECK (kind IN ('threshold', 'ratchet', 'target')),
  condition       jsonb NOT NULL,
  pending_seconds integer NOT NULL DEFAULT 0 CHECK (pending_seconds >= 0),
  webhook_url     text NOT NULL CHECK (length(webhook_url) BETWEEN 1 AND 2048),
  format          text NOT NULL CHECK (format IN ('json', 'slack')),
  -- a ratchet ignores points before this bucket (the latest one when the rule was created)
  from_bucket     timestamptz,
  state           text NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'pending', 'firing')),
  since_bucket    timestamptz,
  -- written only when the state or the breach changes (not on every push: the value shown with
  -- a rule is read from the series)
  state_changed_at timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id)
);
CREATE INDEX alert_rules_series ON alert_rules (org_id, series_key);

CREATE TABLE alert_events (
  org_id     bigint NOT NULL,
  id         bigint GENERATED ALWAYS AS IDENTITY,
  rule_id    bigint NOT NULL,
  status     text NOT NULL CHECK (status IN ('firing', 'resolved')),
  at         timestamptz NOT NULL DEFAULT now(),
  bucket     timestamptz NOT NULL,
  value      bigint NOT NULL,
  detail     jsonb NOT NULL,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, rule_id) REFERENCES alert_rules (org_id, id) ON DELETE CASCADE
);
CREATE INDEX alert_events_rule ON alert_events (org_id, rule_id, id);

CREATE TABLE alert_deliveries (
  org_id          bigint NOT NULL,
  id              bigint GENERATED ALWAYS AS IDENTITY,
  rule_id         bigint NOT NULL,
  event_id        bigint NOT NULL,
  url             text NOT NULL,
  -- the exact body sent (built when the rule fired: numbers, ids, labels, times, links)
  body            jsonb NOT NULL,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  last_status     integer,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- PGlite's in-process sender: when to try again (graphile-worker keeps its own run_at)
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz,
  PRIMARY KEY (org_id, id),
  FOREIGN KEY (org_id, rule_id) REFERENCES alert_rules (org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, event_id) REFERENCES alert_events (org_id, id) ON DELETE CASCADE
);
CREATE INDEX alert_deliveries_rule ON alert_deliveries (org_id, rule_id, id);
CREATE INDEX alert_deliveries_pending ON alert_deliveries (next_attempt_at) WHERE state = 'pending';

ALTER TABLE alert_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON alert_rules USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
CREATE POLICY org_isolation ON alert_events USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
CREATE POLICY org_isolation ON alert_deliveries USING (org_id = ci_current_org()) WITH CHECK (org_id = ci_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON alert_rules, alert_events, alert_deliveries TO code_insights_app;
