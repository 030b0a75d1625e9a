// Worker thread that counts one query whose pattern may backtrack without bound. The engine
// gives it one blob at a time and terminates it when a blob runs over the time budget.
import { parentPort, workerData } from 'node:worker_threads';
import { Matcher, type QuerySpec } from './countMatches';

const matcher = new Matcher(workerData.spec as QuerySpec);
parentPort!.on('message', (msg: { id: number; text: string }) => {
  parentPort!.postMessage({ id: msg.id, result: matcher.count(msg.text) });
});
