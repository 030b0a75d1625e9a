// Prometheus metrics of one service instance (its own registry, so tests can run several).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolState } from './db';

export function createMetrics(poolState: () => PoolState) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'code_insights_org_' });
  const httpRequests = new Counter({
    name: 'code_insights_org_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'code_insights_org_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const ingestPoints = new Counter({
    name: 'code_insights_org_ingest_points_total',
    help: 'Points received by POST /api/v1/points, by outcome (inserted, updated, unchanged, duplicate, rejected)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const ingestBatches = new Counter({
    name: 'code_insights_org_ingest_batches_total',
    help: 'Batches received by POST /api/v1/points, by outcome (stored, rejected, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const ingestDuration = new Histogram({
    name: 'code_insights_org_ingest_duration_seconds',
    help: 'Time to store one batch in the database',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'code_insights_org_db_pool_connections',
    help: 'Database connections by state (total, idle, waiting clients)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = poolState();
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });
  return { registry, httpRequests, httpDuration, ingestPoints, ingestBatches, ingestDuration };
}

export type OrgMetrics = ReturnType<typeof createMetrics>;
