// Stand-alone entry of the org service (tests spawn it; `code-insights org` is the usual door).
import { runOrgCommand } from './cli';

runOrgCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`code-insights org: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
