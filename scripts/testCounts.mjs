// A Node test reporter that writes only the counts scripts/test.mjs prints in its summary, as
// JSON: tests passed and failed (suites not counted, a file that fails to load counts as one
// failure), and tests or whole suites skipped.
export default async function* testCounts(source) {
  const counts = { pass: 0, fail: 0, skip: 0 };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    if (data.skip !== undefined || data.todo !== undefined) counts.skip++;
    else if (data.details?.type === 'suite') continue;
    else if (event.type === 'test:pass') counts.pass++;
    else counts.fail++;
  }
  yield `${JSON.stringify(counts)}\n`;
}
