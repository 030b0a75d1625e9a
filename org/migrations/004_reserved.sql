-- Placeholder: version 004 belongs to another branch of issue 14 (goals). Delete this file when
-- that branch's 004_*.sql is merged (the loader refuses two migrations with the same version).
SELECT 1;
