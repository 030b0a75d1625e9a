// Suites that need something npm does not install (Chromium, a built bundle). Locally a missing
// prerequisite skips the suite and says why on stderr; under CI=true it fails the run instead,
// as the e2e suite does (test/e2e/harness.ts): CI installs them, so a skip there hides a break.
import { existsSync } from 'node:fs';

/** Debian's Chromium, unless CHROMIUM_PATH names another. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function missingChromium(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
}

/** `{ skip }` for describe()/test(): false when nothing is missing; throws under CI=true. */
export function prerequisiteGate(suite: string, ...missing: (string | undefined)[]): { skip: string | false } {
  const why = missing.filter((m): m is string => !!m).join('; ');
  if (!why) return { skip: false };
  if (process.env.CI === 'true') throw new Error(`${suite}: prerequisite missing under CI: ${why}`);
  process.stderr.write(`${suite}: skipped — ${why}\n`);
  return { skip: why };
}
