// What `org serve` runs of the fleet. On PostgreSQL: a connection to graphile-worker's queue, so
// the API queues runs and `org worker` processes (any number, any machines) compute them. On the
// embedded PGlite: the service computes queued runs itself, one at a time (./local.ts).
// Settings by environment (serve's own flags belong to org/cli.ts): CODE_INSIGHTS_MIRROR_DIR,
// CODE_INSIGHTS_MIRROR_BUDGET (bytes), CODE_INSIGHTS_REFRESH_INTERVAL (seconds),
// CODE_INSIGHTS_FLEET_ALLOW_LOCAL=1 (accept local paths over the API; see routes.ts).
import { dirname, join } from 'node:path';
import type pino from 'pino';
import type { OrgDb } from '../db';
import { defaultDataDir } from '../paths';
import { startLocalFleet } from './local';
import { openQueue } from './queue';
import type { FleetRouteOptions } from './routes';
import type { TaskContext } from './task';

export const defaultMirrorDir = (): string => join(dirname(defaultDataDir()), 'mirrors');

function envNumber(name: string, def: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
}

export async function startServeFleet(db: OrgDb, databaseUrl: string | undefined, log: pino.Logger, onStored?: TaskContext['onStored']): Promise<{ options: Pick<FleetRouteOptions, 'queue' | 'onQueued' | 'allowLocalPaths'>; close(): Promise<void> }> {
  const allowLocalPaths = process.env.CODE_INSIGHTS_FLEET_ALLOW_LOCAL === '1';
  if (db.kind === 'postgres' && databaseUrl) {
    const queue = await openQueue(databaseUrl, log);
    return { options: { queue, allowLocalPaths }, close: () => queue.close() };
  }
  const mirrorDir = process.env.CODE_INSIGHTS_MIRROR_DIR || defaultMirrorDir();
  const local = startLocalFleet(db, {
    mirrorDir,
    mirrorBudget: envNumber('CODE_INSIGHTS_MIRROR_BUDGET', 10 * 1024 ** 3),
    refreshInterval: envNumber('CODE_INSIGHTS_REFRESH_INTERVAL', 300),
    engineCache: true,
    log: log.child({ fleet: 'in-process' }),
    onStored,
  });
  return { options: { onQueued: () => local.wake(), allowLocalPaths }, close: () => local.stop() };
}
