// "New Insight": a multi-step quick input (title, kind, queries — for a structural insight its
// language, then its patterns —, step, points, scope) with a Back button on every step after the
// first. Returns a definition and where to save it; the server checks it (its diagnostics point
// at any mistake once it is written).
import * as vscode from 'vscode';
import { DEFAULT_POINTS, DEFAULT_STEP, escapeRegExp, STEPS, STRUCTURAL_LANGUAGES, type InsightDefinition, type InsightKind, type Step, type StructuralLanguage } from '../protocol/insights';

export interface NewInsight {
  def: InsightDefinition;
  /** The workspace folder whose `.vscode/insights.json` receives it; undefined = user settings. */
  folder: vscode.WorkspaceFolder | undefined;
}

const BACK = Symbol('back');

/** Several queries (or patterns) in one input box: the separator, and the text split back. */
const SEPARATOR = '  ||  ';
const splitQueries = (text: string): string[] => text.split(SEPARATOR).map((q) => q.trim()).filter(Boolean);
type Back = typeof BACK;

function input(opts: { title: string; step: number; total: number; prompt: string; value?: string; placeholder?: string; validate?: (v: string) => string | undefined }): Promise<string | Back | undefined> {
  return new Promise((resolve) => {
    const box = vscode.window.createInputBox();
    Object.assign(box, { title: opts.title, step: opts.step, totalSteps: opts.total, prompt: opts.prompt, value: opts.value ?? '', placeholder: opts.placeholder ?? '', ignoreFocusOut: true });
    if (opts.step > 1) box.buttons = [vscode.QuickInputButtons.Back];
    let done = false;
    const finish = (v: string | Back | undefined) => {
      if (done) return;
      done = true;
      resolve(v);
      box.dispose();
    };
    box.onDidTriggerButton(() => finish(BACK));
    box.onDidChangeValue((v) => (box.validationMessage = opts.validate?.(v)));
    box.onDidAccept(() => {
      const msg = opts.validate?.(box.value);
      if (msg) box.validationMessage = msg;
      else finish(box.value);
    });
    box.onDidHide(() => finish(undefined));
    box.show();
  });
}

function pick<T>(opts: { title: string; step: number; total: number; placeholder: string; items: (vscode.QuickPickItem & { value: T })[]; active?: T }): Promise<T | Back | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<vscode.QuickPickItem & { value: T }>();
    Object.assign(qp, { title: opts.title, step: opts.step, totalSteps: opts.total, placeholder: opts.placeholder, items: opts.items, ignoreFocusOut: true });
    const active = opts.items.find((i) => i.value === opts.active);
    if (active) qp.activeItems = [active];
    if (opts.step > 1) qp.buttons = [vscode.QuickInputButtons.Back];
    let done = false;
    const finish = (v: T | Back | undefined) => {
      if (done) return;
      done = true;
      resolve(v);
      qp.dispose();
    };
    qp.onDidTriggerButton(() => finish(BACK));
    qp.onDidAccept(() => finish(qp.selectedItems[0]?.value));
    qp.onDidHide(() => finish(undefined));
    qp.show();
  });
}

/** A short id from the title, unique among `taken`. */
export function idFromTitle(title: string, taken: Set<string>): string {
  const base = title.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'insight';
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}

export async function askNewInsight(takenIds: Set<string>): Promise<NewInsight | undefined> {
  const TITLE = 'New Insight';
  const total = 6;
  const state: { title?: string; kind: InsightKind; language: StructuralLanguage; queries: string[]; step: Step; points: string; scope?: vscode.WorkspaceFolder | 'all' | 'settings' } = {
    kind: 'series',
    language: 'typescript',
    queries: [],
    step: DEFAULT_STEP,
    points: String(DEFAULT_POINTS),
  };
  const folders = vscode.workspace.workspaceFolders ?? [];
  let n = 1;
  while (n <= total) {
    let r: unknown;
    switch (n) {
      case 1:
        r = await input({ title: TITLE, step: 1, total, prompt: 'Title of the insight', placeholder: 'e.g. TODO comments', value: state.title, validate: (v) => (v.trim() ? undefined : 'Give the insight a title') });
        if (typeof r === 'string') state.title = r.trim();
        break;
      case 2:
        r = await pick<InsightKind>({
          title: TITLE, step: 2, total, placeholder: 'What should it count?', active: state.kind,
          items: [
            { label: 'Series', description: 'one line per query', value: 'series' },
            { label: 'Capture groups', description: 'one line per value the first capture group takes', value: 'capture' },
            { label: 'Structural', description: 'ast-grep patterns on the syntax tree: calls, not comments or strings', value: 'structural' },
            { label: 'Languages', description: 'lines of code per language', value: 'languages' },
          ],
        });
        if (typeof r === 'string') state.kind = r as InsightKind;
        break;
      case 3:
        if (state.kind === 'languages') {
          r = 'skip';
          break;
        }
        if (state.kind === 'structural') {
          r = await structuralQueries(TITLE, total, state);
          break;
        }
        r = await input({
          title: TITLE, step: 3, total,
          prompt: state.kind === 'capture'
            ? 'A regular expression with a capture group, e.g. TODO\\((\\w+)\\)'
            : 'Regular expressions (JavaScript syntax), one per query, separated by "  ||  " for several series',
          value: state.queries.join(SEPARATOR),
          validate: (v) => (v.trim() ? undefined : 'Enter at least one query'),
        });
        if (typeof r === 'string') state.queries = splitQueries(r);
        break;
      case 4:
        r = await pick<Step>({
          title: TITLE, step: 4, total, placeholder: 'One point per…', active: state.step,
          items: STEPS.map((s) => ({ label: s, value: s })),
        });
        if (typeof r === 'string') state.step = r as Step;
        break;
      case 5:
        r = await input({
          title: TITLE, step: 5, total, prompt: `How many points (${state.step}s back from now)?`, value: state.points,
          validate: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 10000 ? undefined : 'A whole number from 1 to 10000'),
        });
        if (typeof r === 'string') state.points = r.trim();
        break;
      case 6:
        r = await pick<vscode.WorkspaceFolder | 'all' | 'settings'>({
          title: TITLE, step: 6, total, placeholder: 'Which repositories, and where to save the definition?',
          items: [
            ...(folders.length
              ? [{ label: 'All repositories in the workspace', description: `saved in ${folders[0]!.name}/.vscode/insights.json`, value: 'all' as const }]
              : []),
            ...(folders.length > 1
              ? folders.map((f) => ({ label: `Repositories in ${f.name}`, description: `saved in ${f.name}/.vscode/insights.json`, value: f }))
              : []),
            { label: 'All repositories, saved in my user settings', description: 'not shared with the team', value: 'settings' as const },
          ],
        });
        if (r !== undefined && r !== BACK) state.scope = r as typeof state.scope;
        break;
    }
    if (r === undefined) return undefined;
    if (r === BACK) {
      n = n === 4 && state.kind === 'languages' ? 2 : n - 1;
      continue;
    }
    n++;
  }
  const def: InsightDefinition = {
    id: idFromTitle(state.title!, takenIds),
    title: state.title!,
    kind: state.kind,
    ...(state.kind === 'structural' ? { language: state.language } : {}),
    ...(state.kind !== 'languages' ? { queries: state.queries.map((query) => ({ query })) } : {}),
    step: state.step,
    points: Number(state.points),
  };
  const scope = state.scope!;
  if (scope !== 'all' && scope !== 'settings') {
    // Repository filters are regexes over identity or folder path: this folder's path, escaped.
    def.repos = [`^${escapeRegExp(scope.uri.fsPath)}(/|$)`];
  }
  return { def, folder: scope === 'settings' ? undefined : scope === 'all' ? folders[0] : scope };
}

/** Step 3 of a structural insight: its language, then its patterns (Back from the patterns goes
 *  to the language). Answers the patterns' text, BACK (to the kind) or undefined (cancelled). */
async function structuralQueries(title: string, total: number, state: { language: StructuralLanguage; queries: string[] }): Promise<string | Back | undefined> {
  for (;;) {
    const language = await pick<StructuralLanguage>({
      title, step: 3, total, placeholder: 'Language of the patterns (files are chosen by its extensions)', active: state.language,
      items: STRUCTURAL_LANGUAGES.map((l) => ({ label: l, value: l })),
    });
    if (language === undefined || language === BACK) return language;
    state.language = language;
    const r = await input({
      title, step: 3, total,
      prompt: `ast-grep patterns in ${language} ($A: one node, $$$: any number), separated by "  ||  " for several series`,
      placeholder: 'e.g. console.log($$$)',
      value: state.queries.join(SEPARATOR),
      validate: (v) => (v.trim() ? undefined : 'Enter at least one pattern'),
    });
    if (r === BACK) continue;
    if (typeof r === 'string') state.queries = splitQueries(r);
    return r;
  }
}
