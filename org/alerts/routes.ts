// The alerts API under /api/v1/alerts: rules (list with a read token; create and delete with a
// write token), history, and the preview on stored points. Every query runs in the token's org
// only (row-level security through withOrg in ./store).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { validateCreateAlertRequest, type AlertListResponse } from '../../protocol/alerts';
import type { OrgDb } from '../db';
import { OrgError, type Scope } from '../store';
import { createRule, deleteRule, listRules, previewRule, ruleHistory, type AlertDispatcher } from './store';

type Guard = (scope: Scope) => (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

function fail(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

export function registerAlertRoutes(app: FastifyInstance, opts: { db: OrgDb; guard: Guard; dispatcher?: AlertDispatcher }): void {
  const { db, guard } = opts;

  app.get('/api/v1/alerts', { onRequest: guard('read') }, async (req, reply) => {
    const body: AlertListResponse = { org: req.principal!.orgName, rules: await listRules(db, req.principal!.orgId, true) };
    return reply.send(body);
  });

  app.post('/api/v1/alerts', { onRequest: guard('write') }, async (req, reply) => {
    const v = validateCreateAlertRequest(req.body);
    if (!v.ok) return fail(reply, 400, 'INVALID_BODY', v.message);
    try {
      const r = await createRule(db, req.principal!.orgId, v.value);
      await opts.dispatcher?.enqueue(r.deliveries);
      return reply.send({ rule: { ...r.rule, webhook: v.value.webhook }, fired: r.deliveries.length });
    } catch (e) {
      if (e instanceof OrgError && e.code === 'TOO_MANY_RULES') return fail(reply, 409, e.code, e.message);
      throw e;
    }
  });

  app.delete<{ Params: { id: string } }>('/api/v1/alerts/:id', { onRequest: guard('write') }, async (req, reply) => {
    if (!(await deleteRule(db, req.principal!.orgId, req.params.id))) return fail(reply, 404, 'NOT_FOUND', `this org has no alert rule ${req.params.id.slice(0, 40)}`);
    return reply.send({ deleted: req.params.id });
  });

  app.get('/api/v1/alerts/history', { onRequest: guard('read') }, async (req, reply) => reply.send(await ruleHistory(db, req.principal!.orgId, null)));

  app.get<{ Params: { id: string } }>('/api/v1/alerts/:id/history', { onRequest: guard('read') }, async (req, reply) => {
    const h = await ruleHistory(db, req.principal!.orgId, req.params.id);
    if (!h) return fail(reply, 404, 'NOT_FOUND', `this org has no alert rule ${req.params.id.slice(0, 40)}`);
    return reply.send(h);
  });

  // Changes nothing: a read token may ask.
  app.post('/api/v1/alerts/preview', { onRequest: guard('read') }, async (req, reply) => {
    const v = validateCreateAlertRequest(req.body, false);
    if (!v.ok) return fail(reply, 400, 'INVALID_BODY', v.message);
    const p = await previewRule(db, req.principal!.orgId, v.value);
    if (!p) return fail(reply, 404, 'NOT_FOUND', `this org has no series ${v.value.series}`);
    return reply.send(p);
  });
}
