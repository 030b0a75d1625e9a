-- Mirror affinity (issue 13): a repository's jobs go to the worker that holds its mirror.
-- Each worker process has a home (`org worker --home NAME`, by default its host and the absolute
-- path of its mirror folder, so a worker restarted on the same folder keeps its mirrors). A job
-- that succeeds records its worker's home on the repository; enqueuing then gives the job the
-- graphile-worker task of that home (`fleet_compute_h_<home>`), which only that home's workers
-- run, while a worker of the home beats. Everything else is the generic `fleet_compute`.

-- Where the repository's mirror was last computed. Covered by fleet_repos' row-level-security
-- policy (org_isolation) and its grants, like every other column of the table.
ALTER TABLE fleet_repos ADD COLUMN home text CHECK (home IS NULL OR home ~ '^[A-Za-z0-9_.-]{1,100}$');

-- The home of each worker process, and how old its heartbeat may get before its home counts as
-- gone (its own --lock-timeout): enqueuers read it to route, live workers to re-route a dead
-- home's waiting jobs as generic ones. Not org data, like the rest of fleet_workers.
ALTER TABLE fleet_workers ADD COLUMN home text;
ALTER TABLE fleet_workers ADD COLUMN lock_timeout_s integer NOT NULL DEFAULT 60 CHECK (lock_timeout_s > 0);
CREATE INDEX fleet_workers_home ON fleet_workers (home);
