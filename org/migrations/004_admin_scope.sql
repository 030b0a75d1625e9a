-- An `admin` token scope (issue 13): the fleet's changes (repositories, org-defined insights,
-- retries) take an admin token; `read` reads, `write` pushes points.
ALTER TABLE tokens DROP CONSTRAINT IF EXISTS tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check CHECK (scope IN ('read', 'write', 'admin'));
