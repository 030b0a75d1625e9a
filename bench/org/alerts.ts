// What alert evaluation adds to a push, side by side in one run on PostgreSQL: the same batches
// stored by ingest() alone (the push path before alerts), by ingest() + the evaluation with no
// rule in the org (every push now pays this), and with the org's cap of 100 rules all on the
// series pushed (the most a push can pay). Rounds alternate between three orgs so load changes
// on the shared machine hit every variant alike; each batch changes values, so every push
// evaluates. Two batch shapes: one repository's push (3 series × 52 weekly buckets, 156 points)
// and a bulk batch (20,000 points, as a large push or a fleet job's ingest).
//
//   npm run bench:org:alerts          (DATABASE_URL picks the server; default the local one)
//   BENCH_ROUNDS=100 npm run bench:org:alerts
import { loadavg } from 'node:os';
import { ALERT_LIMITS, type AlertCondition } from '../../protocol/alerts';
import type { OrgPoint } from '../../protocol/org';
import { createRule, evaluateRules } from '../../org/alerts/store';
import { openDb, type OrgDb } from '../../org/db';
import { migrate } from '../../org/migrate';
import { createOrg, ingest } from '../../org/store';
import { DEFS, freshDatabase, repoName, sha, TIMES } from './data';

const ADMIN = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const BULK_ROUNDS = Math.max(3, Math.round(ROUNDS / 20));

/** One batch: repositories [from, to) × 3 series × 52 buckets at commit `round` (values change). */
function batch(from: number, to: number, round: number): OrgPoint[] {
  const out: OrgPoint[] = [];
  for (let r = from; r < to; r++) {
    for (let s = 0; s < DEFS.length; s++) {
      for (let b = 0; b < TIMES.length; b++) {
        out.push({ series: DEFS[s].id, repo: repoName(r), time: TIMES[b], commit: sha(round * 1_000_000 + r * 64 + b + 1), commitTime: new Date(Date.parse(TIMES[b]) + round * 1000).toISOString(), value: (r * 7 + s * 13 + b + round) % 100 });
      }
    }
  }
  return out;
}

type Variant = 'ingest only' | 'ingest + evaluation, no rule' | `ingest + evaluation, ${number} rules`;

async function main() {
  const { url, admin } = await freshDatabase(ADMIN, 'ci_org_alerts_bench');
  const db: OrgDb = await openDb({ databaseUrl: url, poolSize: 2 });
  try {
    await migrate(db);
    const orgs = [await createOrg(db, 'plain'), await createOrg(db, 'norules'), await createOrg(db, 'rules')];
    const conditions: AlertCondition[] = [
      { kind: 'threshold', above: 1e12, below: null },
      { kind: 'ratchet', baseline: 'lowest' },
      { kind: 'target', target: 0, by: '2030-01-01', direction: 'down', window: 8 },
    ];
    // Points first, so each rule starts from a stored series.
    for (const o of orgs) await ingest(db, o.id, DEFS, batch(0, 10, 0));
    for (let i = 0; i < ALERT_LIMITS.maxRulesPerOrg; i++) {
      await createRule(db, orgs[2].id, { series: DEFS[i % DEFS.length].id, condition: conditions[i % conditions.length], pendingSeconds: 0, webhook: 'https://hooks.example.test/x', format: 'json' });
    }
    const variants: Variant[] = ['ingest only', 'ingest + evaluation, no rule', `ingest + evaluation, ${ALERT_LIMITS.maxRulesPerOrg} rules`];

    const measure = async (label: string, rounds: number, make: (round: number) => OrgPoint[]) => {
      const ms = [0, 0, 0];
      const load0 = loadavg()[0];
      for (let round = 1; round <= rounds; round++) {
        const points = make(round);
        // rotate the order within a round too
        for (let k = 0; k < 3; k++) {
          const v = (round + k) % 3;
          const t0 = performance.now();
          // as POST /api/v1/points does: the evaluation in the push's own transaction
          await ingest(db, orgs[v].id, DEFS, points, v === 0 ? undefined : async (q, _stored, keys) => void (await evaluateRules(q, orgs[v].id, keys)));
          ms[v] += performance.now() - t0;
        }
      }
      console.log(`\n${label}: ${rounds} batches of ${make(1).length} points per variant, load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}`);
      for (let v = 0; v < 3; v++) console.log(`  ${variants[v].padEnd(36)} ${(ms[v] / rounds).toFixed(2)} ms per batch   ratio to ingest only ${(ms[v] / ms[0]).toFixed(3)}`);
    };

    await measure('one repository per push', ROUNDS, (round) => batch(round % 10, (round % 10) + 1, round));
    await measure('bulk batches', BULK_ROUNDS, (round) => batch(100, 100 + Math.ceil(20_000 / 156), round));
  } finally {
    await db.close();
    await admin.query('DROP DATABASE IF EXISTS ci_org_alerts_bench WITH (FORCE)');
    await admin.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
