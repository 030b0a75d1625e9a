// The fleet's API under /api/v1/fleet: repositories, org-defined insights, status and retries.
// Reads need a read (or admin) token, changes an admin token (the app's guard; a write token
// only pushes points); every query runs in the
// token's org only (row-level security through withOrg in ./store).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  validateCreateInsightRequest,
  validateUpdateInsightRequest,
  type DeleteInsightResponse,
  type UpdateInsightResponse,
  validateUrlList,
  type AddReposResponse,
  type CreateInsightResponse,
  type FleetStatusResponse,
  type RemoveReposResponse,
  type RetryFailedResponse,
} from '../../protocol/fleet';
import type { OrgDb } from '../db';
import { OrgError, type Principal, type Scope } from '../store';
import { repoRef } from './identity';
import type { FleetQueue } from './queue';
import { addRepos, createInsights, deleteInsights, FleetDefinitionsError, updateInsights, fleetStatus, listRepos, removeRepos, retryFailed, type RunKey } from './store';

type Guard = (scope: Scope) => (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface FleetRouteOptions {
  db: OrgDb;
  guard: Guard;
  /** graphile-worker on PostgreSQL; absent on PGlite, where the service computes queued runs itself. */
  queue?: FleetQueue;
  /** Told when runs were queued (the in-process runner of `org serve` on PGlite wakes up). */
  onQueued?: (runs: RunKey[]) => void;
  /** Accept local paths and file:// URLs over the API (tests, one machine). Off by default: a
   *  worker would read any repository on its machine — another org's mirror included — for
   *  whoever holds an admin token. The CLI (database access: the operator) always accepts them. */
  allowLocalPaths?: boolean;
}

function fail(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

export function registerFleetRoutes(app: FastifyInstance, opts: FleetRouteOptions): void {
  const { db, guard } = opts;
  const org = (req: FastifyRequest): Principal => req.principal!;
  const queued = async (runs: RunKey[]) => {
    if (runs.length === 0) return;
    if (opts.queue) await opts.queue.add(runs);
    opts.onQueued?.(runs);
  };

  app.get('/api/v1/fleet/repos', { preHandler: guard('read') }, async (req, reply) => reply.send({ org: org(req).orgName, repos: await listRepos(db, org(req).orgId) }));

  app.post('/api/v1/fleet/repos', { preHandler: guard('admin') }, async (req, reply) => {
    const v = validateUrlList(req.body);
    if (!v.ok) return fail(reply, 400, 'INVALID_BODY', v.message);
    const local = opts.allowLocalPaths ? -1 : v.value.findIndex((u) => repoRef(u).identity.startsWith('path:'));
    if (local >= 0) {
      return fail(reply, 400, 'INVALID_BODY', `body.urls[${local}] is a local path or file:// URL: over the API only network clone URLs are accepted (a worker would read any repository on its machine); add local repositories with \`code-insights org add-repos\``);
    }
    const r = await addRepos(db, org(req).orgId, v.value);
    await queued(r.runs);
    const body: AddReposResponse = { added: r.added, existing: r.existing, queued: r.runs.length };
    return reply.send(body);
  });

  app.post('/api/v1/fleet/repos/remove', { preHandler: guard('admin') }, async (req, reply) => {
    const v = validateUrlList(req.body);
    if (!v.ok) return fail(reply, 400, 'INVALID_BODY', v.message);
    const body: RemoveReposResponse = await removeRepos(db, org(req).orgId, v.value);
    return reply.send(body);
  });

  app.post('/api/v1/fleet/insights', { preHandler: guard('admin') }, async (req, reply) => {
    const v = validateCreateInsightRequest(req.body);
    if (!v.ok) return fail(reply, 400, 'INVALID_BODY', v.message);
    try {
      const r = await createInsights(db, org(req).orgId, v.value.config, v.value.scope);
      await queued(r.runs);
      const body: CreateInsightResponse = { insights: r.insights, queued: r.runs.length };
      return reply.send(body);
    } catch (e) {
      if (e instanceof FleetDefinitionsError) {
        return reply.code(400).send({ error: { code: 'INVALID_DEFINITIONS', message: e.message }, problems: e.problems });
      }
      if (e instanceof OrgError && e.code === 'INSIGHT_EXISTS') return fail(reply, 409, e.code, e.message);
      throw e;
    }
  });

  app.put('/api/v1/fleet/insights', { preHandler: guard('admin') }, async (req, reply) => {
    const v = validateUpdateInsightRequest(req.body);
    if (!v.ok) return fail(reply, 400, 'INVALID_BODY', v.message);
    try {
      const r = await updateInsights(db, org(req).orgId, v.value.config, v.value.scope);
      await queued(r.runs);
      const body: UpdateInsightResponse = { insights: r.insights, queued: r.runs.length };
      return reply.send(body);
    } catch (e) {
      if (e instanceof FleetDefinitionsError) {
        return reply.code(400).send({ error: { code: 'INVALID_DEFINITIONS', message: e.message }, problems: e.problems });
      }
      if (e instanceof OrgError && e.code === 'NO_SUCH_INSIGHT') return fail(reply, 404, e.code, e.message);
      throw e;
    }
  });

  app.delete<{ Params: { name: string } }>('/api/v1/fleet/insights/:name', { preHandler: guard('admin') }, async (req, reply) => {
    const name = req.params.name;
    if (name.length > 200) return fail(reply, 400, 'INVALID_BODY', 'an insight id is at most 200 characters');
    const r = await deleteInsights(db, org(req).orgId, [name]);
    if (r.deleted.length === 0) return fail(reply, 404, 'NO_SUCH_INSIGHT', `the org has no insight "${name.slice(0, 100)}"`);
    const body: DeleteInsightResponse = { deleted: name };
    return reply.send(body);
  });

  app.get('/api/v1/fleet/status', { preHandler: guard('read') }, async (req, reply) => {
    const body: FleetStatusResponse = { org: org(req).orgName, ...(await fleetStatus(db, org(req).orgId)) };
    return reply.send(body);
  });

  app.post('/api/v1/fleet/retry-failed', { preHandler: guard('admin') }, async (req, reply) => {
    const runs = await retryFailed(db, org(req).orgId);
    await queued(runs);
    const body: RetryFailedResponse = { requeued: runs.length };
    return reply.send(body);
  });
}
