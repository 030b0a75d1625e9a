-- Anchored repository filters (`^github\.com/acme/`, the usual dashboard filter) become an index
-- range with text_pattern_ops, so a filtered read tests the matching repositories' names only,
-- not every repository of the org.
CREATE INDEX repos_identity_pattern ON repos (org_id, identity text_pattern_ops);
