// The worker's mirror folder with real git: a second use fetches instead of cloning (and brings the
// new commit), the folder stays within its budget by removing the mirror used longest ago, never
// one in use, and a URL that cannot be cloned fails with git's own reason.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MirrorStore, remoteHead, runGit } from '../../../org/fleet/mirrors';
import { addCommit, generateRepos } from './fleetOrg';

describe('mirror folder', () => {
  let work: string;
  let repos: string[];
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'ci-fleet-mirrors-'));
    repos = generateRepos(join(work, 'src'), 3).map((n) => join(work, 'src', n));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('clones once, then fetches the new commits', async () => {
    const m = new MirrorStore(join(work, 'm1'), 0);
    const first = await m.use(repos[0], async (u) => u);
    assert.equal(first.cloned, true);
    assert.ok(first.fetchedBytes > 0);
    addCommit(repos[0], new Date('2026-03-01T00:00:00Z'), 2);
    const head = await remoteHead(repos[0]);
    const second = await m.use(repos[0], async (u) => {
      const r = await runGit(['--git-dir', u.gitDir, 'rev-parse', 'HEAD']);
      return { ...u, head: r.stdout.trim() };
    });
    assert.equal(second.cloned, false);
    assert.equal(second.head, head);
  });

  it('keeps the folder within its budget by removing the least recently used mirror, never one in use', async () => {
    const dir = join(work, 'm2');
    const probe = new MirrorStore(dir, 0);
    const size = (await probe.use(repos[0], async (u) => u)).fetchedBytes;
    rmSync(dir, { recursive: true, force: true });
    // Room for two mirrors of this size, not three.
    const m = new MirrorStore(dir, Math.floor(size * 2.5));
    await m.use(repos[0], async () => undefined);
    await m.use(repos[1], async () => undefined);
    // repo 0 used longest ago (mtime is the last use; set it apart, the clock may not tick between uses)
    utimesSync(m.pathOf(repos[0]), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await m.use(repos[2], async () => {
      assert.ok(existsSync(m.pathOf(repos[2])));
    });
    assert.equal(existsSync(m.pathOf(repos[0])), false, 'the least recently used mirror went');
    assert.ok(existsSync(m.pathOf(repos[1])) && existsSync(m.pathOf(repos[2])));
    // A budget smaller than one mirror: the one in use stays while in use.
    const tiny = new MirrorStore(join(work, 'm3'), 1);
    await tiny.use(repos[1], async (u) => {
      assert.deepEqual(await tiny.evict(), []);
      assert.ok(existsSync(u.gitDir));
    });
    assert.deepEqual(readdirSync(join(work, 'm3')).filter((n) => n.endsWith('.git')), [], 'evicted once no longer in use');
  });

  it('a repository that cannot be cloned fails with git\'s reason, and leaves nothing behind', async () => {
    const m = new MirrorStore(join(work, 'm4'), 0);
    await assert.rejects(m.use(join(work, 'nope.git'), async () => undefined), /git clone .*nope\.git: fatal: .*nope\.git/);
    assert.deepEqual(readdirSync(join(work, 'm4')), []);
    await assert.rejects(remoteHead(join(work, 'nope.git')), /git ls-remote .*nope\.git: fatal:/);
  });
});
