// `org add-repos --github-org NAME | --gitlab-group PATH`: listing a code host's repositories.
// No real GitHub or GitLab is reachable from the test machines, so this test runs a FAKE of
// their REST listing on loopback (node:http) that speaks their pagination: GitHub's Link header
// (rel="next", per_page), GitLab's X-Next-Page, their token headers and error bodies. What is
// real: the lister's HTTP client, the CLI and the PGlite database the repositories land in.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runFleetCommand } from '../../../org/fleet/cli';
import { listCodeHostRepos, nextLink } from '../../../org/fleet/codeHost';
import { makeOrg, pgliteTemplate } from '../helpers';

interface Seen {
  path: string;
  auth?: string;
  privateToken?: string;
}

/** The fake: GitHub under /gh (orgs/acme has 250 repositories, the 3rd archived), GitLab under
 *  /gl (group acme/platform has 130 projects), and a few misbehaving routes. */
function fakeHost(): { server: Server; seen: Seen[]; start(): Promise<string> } {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://fake');
    seen.push({ path: url.pathname + url.search, auth: req.headers.authorization, privateToken: req.headers['private-token'] as string | undefined });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    const base = `http://${req.headers.host}`;
    if (url.pathname === '/gh/orgs/acme/repos') {
      const per = Number(url.searchParams.get('per_page') ?? 30);
      const page = Number(url.searchParams.get('page') ?? 1);
      const all = Array.from({ length: 250 }, (_, i) => ({ name: `r${i}`, clone_url: `https://github.example/acme/r${i}.git`, ssh_url: `git@github.example:acme/r${i}.git`, archived: i === 2 }));
      const last = Math.ceil(all.length / per);
      const link = (p: number) => `<${base}/gh/orgs/acme/repos?type=all&per_page=${per}&page=${p}>`;
      const links = [page < last ? `${link(page + 1)}; rel="next"` : '', `${link(last)}; rel="last"`, page > 1 ? `${link(1)}; rel="first"` : ''].filter(Boolean);
      return json(200, all.slice((page - 1) * per, page * per), { link: links.join(', ') });
    }
    if (url.pathname === '/gh/orgs/private/repos') return req.headers.authorization ? json(200, [{ clone_url: 'https://github.example/private/x.git' }]) : json(404, { message: 'Not Found' });
    if (url.pathname === '/gh/orgs/limited/repos') return json(403, { message: 'API rate limit exceeded' }, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1893456000' });
    if (url.pathname === '/gh/orgs/elsewhere/repos') return json(200, [{ clone_url: 'https://github.example/e/1.git' }], { link: '<http://127.0.0.2:1/steal?page=2>; rel="next"' });
    if (url.pathname === '/gh/orgs/endless/repos') {
      const page = Number(url.searchParams.get('page') ?? 1);
      return json(200, [{ clone_url: `https://github.example/endless/${page}.git` }], { link: `<${base}/gh/orgs/endless/repos?page=${page + 1}>; rel="next"` });
    }
    if (url.pathname === '/gh/orgs/slow/repos') return; // never answers
    if (url.pathname === '/gl/groups/acme%2Fplatform/projects') {
      const per = Number(url.searchParams.get('per_page') ?? 20);
      const page = Number(url.searchParams.get('page') ?? 1);
      const all = Array.from({ length: 130 }, (_, i) => ({ path: `p${i}`, http_url_to_repo: `https://gitlab.example/acme/platform/p${i}.git`, archived: false }));
      const last = Math.ceil(all.length / per);
      return json(200, all.slice((page - 1) * per, page * per), { 'x-next-page': page < last ? String(page + 1) : '', 'x-page': String(page), 'x-total-pages': String(last) });
    }
    json(404, { message: '404 Group Not Found' });
  });
  return {
    server,
    seen,
    start: () =>
      new Promise((ok) =>
        server.listen(0, '127.0.0.1', () => {
          const a = server.address() as { port: number };
          ok(`http://127.0.0.1:${a.port}`);
        }),
      ),
  };
}

describe('code host lister (against a local fake of the GitHub and GitLab REST listings)', () => {
  const fake = fakeHost();
  let base: string;
  before(async () => {
    base = await fake.start();
  });
  after(() => {
    fake.server.closeAllConnections();
    fake.server.close();
  });

  it('reads the Link header: rel="next" among others, quoted or not', () => {
    assert.equal(nextLink('<https://a/x?page=3>; rel="next", <https://a/x?page=9>; rel="last"'), 'https://a/x?page=3');
    assert.equal(nextLink('<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel=next'), 'https://a/x?page=3');
    assert.equal(nextLink('<https://a/x?page=9>; rel="last"'), undefined);
    assert.equal(nextLink(null), undefined);
  });

  it('GitHub: follows every page, 100 a page, with the token; archived ones marked', async () => {
    fake.seen.length = 0;
    const repos = await listCodeHostRepos({ kind: 'github', name: 'acme', apiUrl: `${base}/gh`, token: 'ghp_test' });
    assert.equal(repos.length, 250);
    assert.equal(new Set(repos.map((r) => r.url)).size, 250);
    assert.equal(repos[249].url, 'https://github.example/acme/r249.git');
    assert.deepEqual(repos.filter((r) => r.archived).map((r) => r.url), ['https://github.example/acme/r2.git']);
    assert.deepEqual(fake.seen.map((s) => s.path), ['/gh/orgs/acme/repos?type=all&per_page=100', '/gh/orgs/acme/repos?type=all&per_page=100&page=2', '/gh/orgs/acme/repos?type=all&per_page=100&page=3']);
    assert.ok(fake.seen.every((s) => s.auth === 'Bearer ghp_test'));
  });

  it('GitLab: follows X-Next-Page with PRIVATE-TOKEN, subgroup path encoded', async () => {
    fake.seen.length = 0;
    const repos = await listCodeHostRepos({ kind: 'gitlab', name: 'acme/platform', apiUrl: `${base}/gl`, token: 'glpat-test' });
    assert.equal(repos.length, 130);
    assert.equal(repos[129].url, 'https://gitlab.example/acme/platform/p129.git');
    assert.equal(fake.seen.length, 2);
    assert.ok(fake.seen.every((s) => s.privateToken === 'glpat-test' && s.path.startsWith('/gl/groups/acme%2Fplatform/projects?include_subgroups=true')));
  });

  it('bounded and clear: 404, rate limit, a next page on another origin, the page cap, a host that never answers', async () => {
    await assert.rejects(listCodeHostRepos({ kind: 'github', name: 'private', apiUrl: `${base}/gh` }), /answered 404: no such organisation or group, or the token cannot see it \(Not Found\)/);
    assert.equal((await listCodeHostRepos({ kind: 'github', name: 'private', apiUrl: `${base}/gh`, token: 't' })).length, 1);
    await assert.rejects(listCodeHostRepos({ kind: 'github', name: 'limited', apiUrl: `${base}/gh` }), /403: rate limit reached, it resets at 2030-01-01T00:00:00\.000Z/);
    await assert.rejects(listCodeHostRepos({ kind: 'github', name: 'elsewhere', apiUrl: `${base}/gh`, token: 't' }), /the next page is on http:\/\/127\.0\.0\.2:1, not http:\/\/127\.0\.0\.1:\d+; not followed/);
    await assert.rejects(listCodeHostRepos({ kind: 'github', name: 'endless', apiUrl: `${base}/gh`, maxPages: 5 }), /more than 5 pages of 100; nothing was added/);
    await assert.rejects(listCodeHostRepos({ kind: 'github', name: 'slow', apiUrl: `${base}/gh`, timeoutMs: 300 }), /slow\/repos\?type=all&per_page=100 did not answer within 300 ms/);
    await assert.rejects(listCodeHostRepos({ kind: 'gitlab', name: 'nope', apiUrl: `${base}/gl` }), /GitLab group "nope".*answered 404/);
    await assert.rejects(listCodeHostRepos({ kind: 'github', name: 'acme', apiUrl: 'ftp://x' }), /--api-url must be an http\(s\) URL/);
  });

  it('the CLI adds what it lists: add-repos --github-org with --api-url, token from GITHUB_TOKEN', async () => {
    const savedUrl = process.env.DATABASE_URL;
    const savedToken = process.env.GITHUB_TOKEN;
    delete process.env.DATABASE_URL;
    const data = mkdtempSync(join(tmpdir(), 'ci-fleet-host-'));
    try {
      cpSync(await pgliteTemplate(), data, { recursive: true });
      const { openDb } = await import('../../../org/db');
      const db = await openDb({ dataDir: data });
      await makeOrg(db, 'acme');
      await db.close();
      process.env.GITHUB_TOKEN = 'ghp_from_env';
      fake.seen.length = 0;
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
      const code = await runFleetCommand('add-repos', ['--org', 'acme', '--data', data, '--github-org', 'acme', '--api-url', `${base}/gh`], io);
      assert.equal(code, 0, err.join(''));
      assert.match(err.join(''), /listed 250 repositories of GitHub organisation acme \(1 archived\)/);
      assert.match(err.join(''), /250 added, 0 already in org acme/);
      assert.ok(fake.seen.every((s) => s.auth === 'Bearer ghp_from_env'));
      const listed: string[] = [];
      assert.equal(await runFleetCommand('list-repos', ['--org', 'acme', '--data', data, '--format', 'json'], { out: (s) => void listed.push(s), err: () => {} }), 0);
      assert.equal(JSON.parse(listed.join('')).repos.length, 250);
      const failed: string[] = [];
      assert.equal(await runFleetCommand('add-repos', ['--org', 'acme', '--data', data, '--gitlab-group', 'nope', '--api-url', `${base}/gl`], { out: () => {}, err: (s) => void failed.push(s) }), 1);
      assert.match(failed.join(''), /^code-insights org: CODE_HOST: listing the GitLab group "nope": .* answered 404/);
      const usage: string[] = [];
      assert.equal(await runFleetCommand('add-repos', ['--org', 'acme', '--data', data, '--github-org', 'a', '--gitlab-group', 'b'], { out: () => {}, err: (s) => void usage.push(s) }), 2);
      assert.match(usage.join(''), /give --github-org or --gitlab-group, not both/);
    } finally {
      if (savedUrl !== undefined) process.env.DATABASE_URL = savedUrl;
      if (savedToken !== undefined) process.env.GITHUB_TOKEN = savedToken;
      else delete process.env.GITHUB_TOKEN;
      rmSync(data, { recursive: true, force: true });
    }
  });
});
