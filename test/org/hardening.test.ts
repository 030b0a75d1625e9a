// What a service on a company network must withstand (issue 12): the token is checked before a
// byte of the body is read; slow or silent connections are closed by timeouts while others are
// served; a connection limit holds; bodies in an encoding or charset the service does not read
// are refused with 415; a bad URL answers in the service's error shape; logs carry neither a
// token from the query string nor request text.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../org/app';
import type { OrgDb } from '../../org/db';
import { createLogger } from '../../org/logging';
import { backends, definition, get, makeOrg, openTestDb, point, post, startApp, type TestDb, type TestOrg } from './helpers';

/** Polls a condition (no fixed sleeps). */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw socket that records what it receives and whether the server closed it. */
function rawSocket(base: string): { sock: Socket; data: () => string; closed: () => boolean; opened: Promise<void> } {
  const u = new URL(base);
  const sock = connect(Number(u.port), u.hostname);
  let buf = '';
  let closed = false;
  sock.on('data', (d) => (buf += d.toString('latin1')));
  sock.on('error', () => {});
  sock.on('close', () => (closed = true));
  const opened = new Promise<void>((r) => sock.once('connect', () => r()));
  return { sock, data: () => buf, closed: () => closed, opened };
}

for (const backend of backends()) {
  describe(`hardening on ${backend}`, () => {
    let t: TestDb;
    let org: TestOrg;
    before(async () => {
      t = await openTestDb(backend);
      org = await makeOrg(t.db, 'hard');
    });
    after(async () => {
      await t?.cleanup();
    });

    it('checks the token before reading the body: a 401/403 arrives while the body is still unsent', { timeout: 30_000 }, async () => {
      const srv = await startApp(t.db);
      try {
        for (const [auth, status] of [['', 401], ['Authorization: Bearer cit_nope\r\n', 401], [`Authorization: Bearer ${org.read}\r\n`, 403]] as const) {
          const c = rawSocket(srv.base);
          await c.opened;
          // Declares 10 MB, sends one byte of it: an answer can only come from the headers.
          c.sock.write(`POST /api/v1/points HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${auth}Content-Length: 10000000\r\n\r\n[`);
          await until(`the ${status} answer`, () => c.data().includes('\r\n\r\n'));
          assert.match(c.data(), new RegExp(`^HTTP/1.1 ${status} `));
          assert.match(c.data(), /connection: close/i);
          c.sock.destroy();
        }
      } finally {
        await srv.close();
      }
    });

    it('closes silent, slow and half-sent connections by timeout while serving other clients', { timeout: 60_000 }, async () => {
      const { app } = await buildApp({ db: t.db, logger: false, limits: { headersTimeoutMs: 600, requestTimeoutMs: 1_500, idleTimeoutMs: 1_000, keepAliveTimeoutMs: 500 } });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      try {
        const silent = rawSocket(base);
        const slowHead = rawSocket(base);
        const halfBody = rawSocket(base);
        const halfBodyNoToken = rawSocket(base);
        await Promise.all([silent.opened, slowHead.opened, halfBody.opened, halfBodyNoToken.opened]);
        // The head one byte at a time, each well within the idle timeout: only the header timeout ends it.
        const head = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
        let i = 0;
        const drip = setInterval(() => {
          if (!slowHead.closed() && i < head.length) slowHead.sock.write(head[i++]);
        }, 100);
        halfBody.sock.write(`POST /api/v1/points HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${org.write}\r\nContent-Length: 999\r\n\r\n{`);
        halfBodyNoToken.sock.write('POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999\r\n\r\n{');
        // Meanwhile other clients are served.
        let served = 0;
        const open = () => [silent, slowHead, halfBody, halfBodyNoToken].filter((c) => !c.closed()).length;
        await until('every slow connection closed by the server', async () => {
          assert.equal((await get(base, '/healthz')).status, 200);
          served++;
          return open() === 0;
        });
        clearInterval(drip);
        assert.ok(served >= 1);
        assert.ok(i < head.length, 'the slow head was cut before it was complete');
        assert.match(halfBody.data(), /^HTTP\/1.1 408 |^$/, 'a half-sent body gets 408 or a plain close');
      } finally {
        await app.close();
      }
    });

    it('holds a connection limit: connections beyond it are closed on arrival, others served after', { timeout: 60_000 }, async () => {
      const { app } = await buildApp({ db: t.db, logger: false, limits: { maxConnections: 4, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000, idleTimeoutMs: 60_000 } });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      try {
        const held = Array.from({ length: 4 }, () => rawSocket(base));
        await Promise.all(held.map((h) => h.opened));
        await until('the server counts the held connections', async () => (await new Promise<number>((r) => app.server.getConnections((_e, n) => r(n)))) === 4);
        const extra = rawSocket(base);
        extra.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        await until('the connection over the limit is closed', () => extra.closed());
        assert.equal(extra.data(), '');
        for (const h of held) h.sock.destroy();
        await until('a client is served once connections free up', async () => {
          try {
            return (await get(base, '/healthz')).status === 200;
          } catch {
            return false;
          }
        });
      } finally {
        await app.close();
      }
    });

    it('refuses bodies it would misread: a Content-Encoding, a charset other than UTF-8 (415)', async () => {
      const srv = await startApp(t.db);
      try {
        const body = JSON.stringify({ definitions: [definition()], points: [point()] });
        let r = await post(srv.base, org.write, body, { 'content-encoding': 'gzip' }); // says gzip, is not
        assert.equal(r.status, 415);
        assert.match(r.json.error.message, /Content-Encoding "gzip" is not accepted/);
        const res = await fetch(`${srv.base}/api/v1/points`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${org.write}` }, body: gzipSync(body) });
        assert.equal(res.status, 415);
        r = await post(srv.base, org.write, body, { 'content-type': 'application/json; charset=utf-16' });
        assert.equal(r.status, 415);
        assert.match(r.json.error.message, /charset "utf-16" is not accepted/);
        assert.equal((await post(srv.base, org.write, body, { 'content-type': 'application/json; charset=UTF-8' })).status, 200);
      } finally {
        await srv.close();
      }
    });

    it('answers a URL with bad percent-encoding in the service error shape', async () => {
      const srv = await startApp(t.db);
      try {
        const r = await get(srv.base, '/api/v1/series/%ff%fe', org.read);
        assert.equal(r.status, 400);
        assert.deepEqual(Object.keys(r.json), ['error']);
        assert.equal(r.json.error.code, 'BAD_REQUEST');
        assert.match(r.json.error.message, /percent-encoding/);
      } finally {
        await srv.close();
      }
    });

    it('logs no token from the query string and no request text, even for a 500', async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      });
      // The real database, with a failure injected on cue: the only way to make a real ingest
      // fail with a message that quotes the request (as PostgreSQL's errors do).
      let fail = false;
      const db: OrgDb = Object.create(t.db, {
        transaction: {
          value: (fn: Parameters<OrgDb['transaction']>[0]) => (fail ? Promise.reject(new Error('invalid input syntax: "BODYTEXT_q93"')) : t.db.transaction(fn)),
        },
      });
      const { app } = await buildApp({ db, logger: createLogger(sink) });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      try {
        await get(base, '/api/v1/series?token=SECRET_TOKEN_x1&access_token=SECRET_TOKEN_x2');
        fail = false;
        const r0 = await post(base, org.write, { definitions: [definition()], points: [point()] });
        assert.equal(r0.status, 200);
        fail = true;
        const r = await post(base, org.write, { definitions: [definition({ label: 'BODYTEXT_q93' })], points: [point()] });
        fail = false;
        assert.equal(r.status, 500);
        await until('the 500 is logged', () => lines.some((l) => l.includes('request failed')));
        const all = lines.join('');
        assert.ok(all.includes('[REDACTED]'), all.slice(0, 2000));
        assert.ok(!all.includes('SECRET_TOKEN_x1') && !all.includes('SECRET_TOKEN_x2'), 'a token reached the log');
        assert.ok(!all.includes('BODYTEXT_q93'), `request text reached the log: ${lines.find((l) => l.includes('BODYTEXT_q93'))}`);
      } finally {
        await app.close();
      }
    });
  });
}
