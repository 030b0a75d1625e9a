// Starts the insights server as its own process and speaks LSP to it over stdio, as
// vscode-languageclient does over IPC: same messages, same JSON-RPC framing.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  InitializeRequest,
  PublishDiagnosticsNotification,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import type { ServerSettings } from '../../protocol/lsp';

const root = join(__dirname, '..', '..');

export interface StartedServer {
  conn: ProtocolConnection;
  child: ChildProcess;
  stderr: () => string;
  /** Every publishDiagnostics notification, in order. */
  diagnostics: PublishDiagnosticsParams[];
  /**
   * Tokens of every progress the server asked the client to create, in order: with workDoneProgress
   * on, each computation the server starts by itself (and each sync) asks for one as it starts.
   */
  progressCreated: string[];
  /** Resolves with the first diagnostics for `uri` that satisfy `pred`. */
  waitForDiagnostics(uri: string, pred: (d: PublishDiagnosticsParams) => boolean, timeoutMs?: number): Promise<PublishDiagnosticsParams>;
  stop(): Promise<void>;
}

export async function startServer(folders: string[], settings: Partial<ServerSettings>, opts: { workDoneProgress?: boolean } = {}): Promise<StartedServer> {
  // The TypeScript source through tsx, so the test checks the code as it is now; the e2e suite runs the bundle.
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'server/lsp/main.ts'), '--stdio'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const diagnostics: PublishDiagnosticsParams[] = [];
  const waiters: { uri: string; pred: (d: PublishDiagnosticsParams) => boolean; resolve: (d: PublishDiagnosticsParams) => void }[] = [];
  conn.onNotification(PublishDiagnosticsNotification.type, (d) => {
    diagnostics.push(d);
    for (const w of [...waiters]) {
      if (w.uri === d.uri && w.pred(d)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(d);
      }
    }
  });
  const progressCreated: string[] = [];
  conn.onRequest('window/workDoneProgress/create', (p: { token: string | number }) => {
    progressCreated.push(String(p.token));
    return null;
  });
  conn.onRequest('client/registerCapability', () => null);
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: { window: { workDoneProgress: opts.workDoneProgress ?? false } },
    workspaceFolders: folders.map((f) => ({ uri: pathToFileURL(f).href, name: f.split('/').pop()! })),
    initializationOptions: { insights: [], autoCompute: false, trusted: true, ...settings },
  });
  await conn.sendNotification('initialized', {});
  return {
    conn,
    child,
    stderr: () => err,
    diagnostics,
    progressCreated,
    waitForDiagnostics(uri, pred, timeoutMs = 10000) {
      const seen = diagnostics.find((d) => d.uri === uri && pred(d));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching diagnostics for ${uri} within ${timeoutMs} ms; got ${JSON.stringify(diagnostics.filter((d) => d.uri === uri))}`)), timeoutMs);
        waiters.push({ uri, pred, resolve: (d) => { clearTimeout(t); resolve(d); } });
      });
    },
    async stop() {
      try {
        await Promise.race([conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
        await conn.sendNotification('exit');
      } catch {
        /* already gone */
      }
      conn.dispose();
      if (child.exitCode === null) {
        await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 2000))]);
        if (child.exitCode === null) child.kill();
      }
    },
  };
}
