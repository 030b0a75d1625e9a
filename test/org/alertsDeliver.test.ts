// One webhook POST, bounded (org/alerts/deliver.ts), against real HTTP servers in this test: a 2xx
// is a delivery, a redirect is not followed, an answer is read only up to its cap, a receiver that
// never answers is given up on, and loopback/private addresses are refused unless allowed — the
// refused one receives nothing.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { isPrivateAddress, postWebhook } from '../../org/alerts/deliver';

describe('webhook POST', () => {
  const seen: string[] = [];
  let base: string;
  let close: () => Promise<void>;
  const hanging: ServerResponse[] = [];

  before(async () => {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(req.url!);
      req.resume();
      if (req.url === '/ok') return void res.end('ok');
      if (req.url === '/redirect') return void res.writeHead(302, { location: '/ok' }).end();
      if (req.url === '/big') {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const pump = () => {
          while (res.write(chunk)) if (res.writableLength > 1 << 20) break;
        };
        pump();
        res.on('drain', pump);
        return;
      }
      if (req.url === '/hang') return void hanging.push(res);
      res.writeHead(503).end('down');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    close = () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
  });
  after(async () => close());

  it('delivers on 2xx, fails on 3xx and 5xx without following a redirect', async () => {
    assert.deepEqual(await postWebhook(`${base}/ok`, { a: 1 }, 5000, true), { ok: true, status: 200, error: null });
    assert.deepEqual(await postWebhook(`${base}/redirect`, {}, 5000, true), { ok: false, status: 302, error: 'HTTP 302' });
    assert.deepEqual(await postWebhook(`${base}/down`, {}, 5000, true), { ok: false, status: 503, error: 'HTTP 503' });
    assert.deepEqual(seen, ['/ok', '/redirect', '/down']);
  });

  it('reads an endless answer only up to its cap, and gives up on a receiver that never answers', async () => {
    assert.deepEqual(await postWebhook(`${base}/big`, {}, 5000, true), { ok: true, status: 200, error: null });
    const r = await postWebhook(`${base}/hang`, {}, 300, true);
    assert.deepEqual(r, { ok: false, status: null, error: 'no answer within 300 ms' });
  });

  it('refuses loopback, private and link-local addresses unless allowed; the receiver gets nothing', async () => {
    seen.length = 0;
    const refused = await postWebhook(`${base}/ok`, {}, 5000, false);
    assert.equal(refused.ok, false);
    assert.match(refused.error!, /loopback, private or link-local/);
    assert.equal(refused.permanent, true, 'not retried: no attempt can succeed');
    const byName = await postWebhook(`${base.replace('127.0.0.1', 'localhost')}/ok`, {}, 5000, false);
    assert.match(byName.error!, /loopback, private or link-local/);
    assert.equal(byName.permanent, true);
    assert.deepEqual(seen, []);
    for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '224.0.0.1', 'nonsense']) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ['8.8.8.8', '140.82.112.3', '2606:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPrivateAddress(a), false, a);
  });
});
