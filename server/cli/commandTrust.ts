// Command insights run shell commands. From the command line they run when the user asked for
// them: typed with --command, or in a definitions file named with --config. A file found by
// default (the .vscode/insights.json of the folder or repository at hand, which arrived with a
// clone or a pull request) runs its commands only with --allow-commands.
import type { InsightDefinition } from '../../protocol/insights';

export const ALLOW_COMMANDS_HELP = `  --allow-commands         run the "command" insights of a definitions file found by default
                           (one named with --config runs them anyway)`;

/** The command insights of `insights` that may not run, and why; none when the user asked for them. */
export function untrustedCommands(insights: InsightDefinition[], o: { configNamed: boolean; allowCommands: boolean }, configPath: string): { ids: string[]; message: string } | undefined {
  if (o.configNamed || o.allowCommands) return undefined;
  const ids = insights.filter((d) => d.kind === 'command').map((d) => d.id);
  if (ids.length === 0) return undefined;
  return {
    ids,
    message: `${configPath} was found, not named: its command insight${ids.length > 1 ? 's' : ''} ${ids.map((i) => `"${i}"`).join(', ')} run${ids.length > 1 ? '' : 's'} a shell command, so only with --allow-commands (or --config ${configPath})`,
  };
}
