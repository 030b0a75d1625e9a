// Prometheus metrics of one worker process (its own registry), served on --metrics-port: jobs by
// outcome, job duration, bytes fetched into mirrors, the mirror folder's size, the queue's depth.
// Labels never carry an org, repository or insight (unbounded, and not the operator's business).
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

export function createWorkerMetrics(probe: { queueDepth: () => Promise<number>; mirrorBytes: () => number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'code_insights_worker_' });
  const jobs = new Counter({
    name: 'code_insights_worker_jobs_total',
    help: 'Jobs by task (fleet_compute: generic; fleet_compute_home: routed to this worker\'s home; fleet_refresh, …) and event (started, succeeded, failed)',
    labelNames: ['task', 'event'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'code_insights_worker_job_duration_seconds',
    help: 'Job duration by task and outcome',
    labelNames: ['task', 'outcome'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [registry],
  });
  const fetched = new Counter({
    name: 'code_insights_worker_fetched_bytes_total',
    help: 'Bytes mirrors grew by: clone (first copy) and fetch (updates)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const rerouted = new Counter({
    name: 'code_insights_worker_jobs_rerouted_total',
    help: 'Waiting jobs of homes with no live worker that this worker re-added as generic jobs',
    registers: [registry],
  });
  new Gauge({
    name: 'code_insights_worker_mirror_bytes',
    help: 'Size of the mirror folder (mirrors this process knows)',
    registers: [registry],
    collect() {
      this.set(probe.mirrorBytes());
    },
  });
  new Gauge({
    name: 'code_insights_worker_queue_depth',
    help: 'Fleet jobs ready to run and not taken by any worker (the whole queue, not this worker)',
    registers: [registry],
    async collect() {
      this.set(await probe.queueDepth());
    },
  });
  return { registry, jobs, duration, fetched, rerouted };
}

/** GET /metrics on its own port (a worker has no other HTTP surface). */
export async function serveMetrics(registry: Registry, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err) => res.writeHead(500).end(String((err as Error).message)),
      );
    } else res.writeHead(404).end('GET /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
