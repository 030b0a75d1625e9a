-- Structural series (issue 15 §1: ast-grep patterns) are synced like plain series. Their query
-- is an ast-grep pattern, or a YAML rule when `rule` is set, in `language`; both are part of the
-- series id and shown with the definition. Every other series leaves them NULL.
ALTER TABLE series
  ADD COLUMN language text CHECK (language IS NULL OR language ~ '^[a-z]{1,20}$'),
  ADD COLUMN rule boolean;
