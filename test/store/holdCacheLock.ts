// A real process that holds a cache file's lock (server/store/fileLock.ts) until told to let go:
//   node --import tsx test/store/holdCacheLock.ts CACHE RELEASE-FILE
// It prints "held" once it holds the lock, then keeps it until RELEASE-FILE exists (or it is
// killed: a kill -9 leaves the lock file behind, as a crash mid-save would).
import { existsSync, writeSync } from 'node:fs';
import { withFileLock } from '../../server/store/fileLock';

const [cache, release] = process.argv.slice(2);
const nap = new Int32Array(new SharedArrayBuffer(4));
withFileLock(cache, `the cache ${cache}`, () => {
  writeSync(1, 'held\n');
  while (!existsSync(release)) Atomics.wait(nap, 0, 0, 10);
});
