// What the insights server knows about the workspace: its folders, the definitions of each
// folder's `.vscode/insights.json` (or the editor's unsaved text of it) and of user settings,
// and the last computed result of every insight. No protocol here: main.ts adapts it to LSP.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { applyEdits, modify, parse } from 'jsonc-parser/lib/esm/main.js'; // ESM build: see definitions.ts
import type { InsightDefinition } from '../../protocol/insights';
import type { EditDefinitionsResult, InsightResult, InsightState, InsightSummary, InsightSource } from '../../protocol/lsp';
import { DEFAULTS, parseDefinitions, parseDefinitionValues, type ParsedDefinitions } from '../engine/definitions';
import { InsightsError } from '../engine/errors';

export const DEFINITIONS_PATH = join('.vscode', 'insights.json');
export const SETTINGS_SOURCE = 'settings';

export interface WorkspaceFolderInfo {
  uri: string;
  path: string;
  name: string;
}

export interface LoadedInsight {
  key: string;
  def: InsightDefinition;
  source: InsightSource;
}

interface DefinitionsFile {
  uri: string;
  folder: WorkspaceFolderInfo;
  /** Null when the folder has no definitions file. */
  text: string | null;
  parsed: ParsedDefinitions;
}

const EMPTY: ParsedDefinitions = { insights: [], dashboards: [], problems: [], locations: {} };

export function definitionsUri(folder: WorkspaceFolderInfo): string {
  return pathToFileURL(join(folder.path, DEFINITIONS_PATH)).href;
}

export function folderFromUri(uri: string, name?: string): WorkspaceFolderInfo {
  const path = fileURLToPath(uri);
  return { uri, path, name: name ?? basename(path) };
}

export class InsightsWorkspace {
  private folders: WorkspaceFolderInfo[] = [];
  private readonly files = new Map<string, DefinitionsFile>();
  /** Unsaved text of definitions files open in the editor, by URI: it wins over the disk. */
  private readonly openTexts = new Map<string, string>();
  private settings: ParsedDefinitions = EMPTY;
  private readonly results = new Map<string, InsightResult>();
  private readonly states = new Map<string, { state: InsightState; error?: string }>();

  folderPaths(): string[] {
    return this.folders.map((f) => f.path);
  }

  getFolders(): readonly WorkspaceFolderInfo[] {
    return this.folders;
  }

  async setFolders(folders: WorkspaceFolderInfo[]): Promise<void> {
    this.folders = folders;
    for (const uri of [...this.files.keys()]) {
      if (!folders.some((f) => definitionsUri(f) === uri)) this.files.delete(uri);
    }
    await Promise.all(folders.map((f) => this.reloadFolder(f)));
  }

  /** Re-reads a folder's definitions (from the open editor text if there is one). */
  async reloadFolder(folder: WorkspaceFolderInfo): Promise<void> {
    const uri = definitionsUri(folder);
    let text = this.openTexts.get(uri) ?? null;
    if (text === null) {
      try {
        text = await readFile(join(folder.path, DEFINITIONS_PATH), 'utf8');
      } catch {
        text = null;
      }
    }
    this.files.set(uri, { uri, folder, text, parsed: text === null ? EMPTY : parseDefinitions(text) });
  }

  /** Reloads the folder that owns this definitions file URI; false if no folder does. */
  async reloadUri(uri: string): Promise<boolean> {
    const folder = this.folders.find((f) => definitionsUri(f) === uri);
    if (!folder) return false;
    await this.reloadFolder(folder);
    return true;
  }

  /** Is `text` what the definitions file at this URI holds on disk? */
  async isSavedText(uri: string, text: string): Promise<boolean> {
    const folder = this.folders.find((f) => definitionsUri(f) === uri);
    if (!folder) return false;
    try {
      return (await readFile(join(folder.path, DEFINITIONS_PATH), 'utf8')) === text;
    } catch {
      return false;
    }
  }

  async setOpenText(uri: string, text: string | undefined): Promise<boolean> {
    if (text === undefined) this.openTexts.delete(uri);
    else this.openTexts.set(uri, text);
    return this.reloadUri(uri);
  }

  setSettingsInsights(values: unknown[] | undefined): void {
    this.settings = parseDefinitionValues(Array.isArray(values) ? values : []);
  }

  /** Problems of every definitions file (and of settings), by URI; files without problems are listed too. */
  problems(): { uri: string; text: string; problems: ParsedDefinitions['problems'] }[] {
    return [...this.files.values()].map((f) => ({ uri: f.uri, text: f.text ?? '', problems: f.parsed.problems }));
  }

  settingsProblems(): ParsedDefinitions['problems'] {
    return this.settings.problems;
  }

  insights(): LoadedInsight[] {
    const out: LoadedInsight[] = [];
    for (const f of this.files.values()) {
      for (const def of f.parsed.insights) {
        const loc = f.parsed.locations[def.id];
        out.push({ key: `${f.folder.name}/${def.id}`, def, source: { uri: f.uri, offset: loc?.offset, length: loc?.length } });
      }
    }
    for (const def of this.settings.insights) out.push({ key: `${SETTINGS_SOURCE}/${def.id}`, def, source: { uri: SETTINGS_SOURCE } });
    return out;
  }

  find(key: string): LoadedInsight | undefined {
    return this.insights().find((i) => i.key === key);
  }

  setState(key: string, state: InsightState, error?: string): void {
    this.states.set(key, { state, error });
  }

  setResult(result: InsightResult): void {
    this.results.set(result.key, result);
  }

  result(key: string): InsightResult | undefined {
    return this.results.get(key);
  }

  summaries(): InsightSummary[] {
    return this.insights().map(({ key, def, source }) => {
      const r = this.results.get(key);
      const st = this.states.get(key);
      const totals = r ? totalsOf(r) : [];
      const latest = totals.at(-1);
      const previous = totals.at(-2);
      return {
        key,
        id: def.id,
        title: def.title,
        kind: def.kind,
        step: def.step ?? DEFAULTS.step,
        source,
        state: st?.state ?? (r ? 'done' : 'idle'),
        ...(latest ? { latest } : {}),
        ...(previous ? { previous } : {}),
        ...(st?.error ? { error: st.error } : r?.error ? { error: r.error.message } : {}),
      };
    });
  }

  /** The edit that adds or removes an insight in a folder's definitions file, keeping comments and layout. */
  async editDefinitions(folderUri: string, add?: InsightDefinition, remove?: string, text?: string): Promise<EditDefinitionsResult> {
    const folder = this.folders.find((f) => f.uri === folderUri) ?? folderFromUri(folderUri);
    const uri = definitionsUri(folder);
    let file: { text: string | null; parsed: ParsedDefinitions };
    if (text !== undefined) {
      // The client's text: the changes must apply to exactly what it will edit.
      file = { text, parsed: parseDefinitions(text) };
    } else {
      // Re-read first: the edit must apply to the text as it is now, whatever the watcher reported.
      await this.reloadFolder(folder);
      file = this.files.get(uri)!;
    }
    const options = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } };
    if (file.text === null) {
      if (!add) throw new InsightsError('DEF_NOT_FOUND', `${folder.name} has no ${DEFINITIONS_PATH} to remove "${remove}" from`);
      return { uri, create: true, changes: [{ offset: 0, length: 0, content: JSON.stringify({ insights: [add] }, null, 2) + '\n' }] };
    }
    if (file.parsed.problems.some((p) => p.code === 'DEF_SYNTAX')) {
      throw new InsightsError('DEF_SYNTAX', `${uri} has JSON syntax errors; fix them first (see the Problems panel)`);
    }
    let edits;
    if (add) {
      if (file.parsed.locations[add.id]) throw new InsightsError('DEF_DUPLICATE_ID', `an insight with id "${add.id}" already exists in ${folder.name}`);
      const hasList = Array.isArray((parse(file.text) as { insights?: unknown } | undefined)?.insights);
      edits = modify(file.text, hasList ? ['insights', -1] : ['insights'], hasList ? add : [add], { ...options, isArrayInsertion: hasList });
    } else {
      const loc = remove === undefined ? undefined : file.parsed.locations[remove];
      if (!loc) throw new InsightsError('DEF_UNKNOWN_ID', `no insight with id "${remove}" in ${folder.name}'s ${DEFINITIONS_PATH}`);
      edits = modify(file.text, ['insights', loc.index], undefined, options);
    }
    // Sanity check: the edited text must still parse (never hand the user a broken file).
    const next = parseDefinitions(applyEdits(file.text, edits));
    if (next.problems.some((p) => p.code === 'DEF_SYNTAX')) throw new InsightsError('DEF_EDIT_FAILED', 'the edit would break the definitions file; edit it by hand');
    return { uri, create: false, changes: edits.map((e) => ({ offset: e.offset, length: e.length, content: e.content })) };
  }
}

/** Per point, the sum over an insight's series (or total lines for languages), oldest first. */
export function totalsOf(r: InsightResult): { time: string; value: number }[] {
  if (r.kind === 'languages') {
    return (r.languages ?? []).map((p) => ({ time: p.time, value: p.languages.reduce((s, l) => s + l.lines, 0) }));
  }
  const byTime = new Map<string, number>();
  for (const s of r.series) for (const p of s.points) byTime.set(p.time, (byTime.get(p.time) ?? 0) + p.value);
  return [...byTime.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([time, value]) => ({ time, value }));
}
