// What `org serve` runs of the fleet: on PostgreSQL, a connection to graphile-worker's queue so the
// API can queue runs (workers compute them); on the embedded PGlite, nothing yet — runs stay
// queued until a worker against PostgreSQL or a later `org serve` computes them.
import type pino from 'pino';
import type { OrgDb } from '../db';
import { openQueue } from './queue';
import type { FleetRouteOptions } from './routes';

export async function startServeFleet(db: OrgDb, databaseUrl: string | undefined, log: pino.Logger): Promise<{ options: Pick<FleetRouteOptions, 'queue' | 'onQueued'>; close(): Promise<void> }> {
  if (db.kind === 'postgres' && databaseUrl) {
    const queue = await openQueue(databaseUrl, log);
    return { options: { queue }, close: () => queue.close() };
  }
  return { options: {}, close: async () => {} };
}
