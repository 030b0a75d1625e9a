// An ESLint rule that makes the folder boundaries (README.md, "Developing") a lint error: which of our
// folders a file may import from, and which packages it may not import. One tsconfig covers
// every folder (Node and DOM types together), so the compiler alone lets any folder import any
// other; this rule is what refuses, e.g., `webview/` reaching into `server/`.
//
// Options (eslint.config.mjs): { root, folders: [{ from, allow?, deny?, allowTypes?, denyPackages? }],
// exceptions: [{ file, target }] }. Paths are relative to root, folders end in "/". A file obeys
// the entry with the longest matching `from`. `allow` lists the only folders of ours it may
// import; `deny` lists folders it may not; `allowTypes` folders it may import types from only;
// `denyPackages` bare package names it may not import. An exception names one file and one import
// target (without extension) and must be in use: a stale one is reported, so it gets deleted.
import { dirname, relative, resolve, sep } from 'node:path';

const toPosix = (p) => p.split(sep).join('/');
const under = (path, folder) => path === folder.replace(/\/$/, '') || path.startsWith(folder);
const stripExt = (p) => p.replace(/\.(d\.ts|ts|tsx|mts|cts|js|mjs|cjs|json)$/, '');

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Keep imports inside the folder boundaries (README.md, "Developing")' },
    schema: [{ type: 'object', additionalProperties: true }],
    messages: {
      forbidden: '{{file}} may not import {{target}} ("{{spec}}"): {{why}}. Move what both sides need to protocol/ (README.md, "Developing", lists the boundaries).',
      forbiddenPackage: '{{file}} may not import the package "{{spec}}": {{why}}.',
      staleException: 'The import-boundary exception for {{file}} -> {{target}} is no longer used: delete it from eslint.config.mjs.',
    },
  },
  create(context) {
    const { root, folders = [], exceptions = [] } = context.options[0] ?? {};
    const file = toPosix(relative(root, context.filename));
    if (file.startsWith('..')) return {};
    const entry = folders.filter((f) => under(file, f.from)).sort((a, b) => b.from.length - a.from.length)[0];
    if (!entry) return {};
    const mine = exceptions.filter((e) => e.file === file);
    const used = new Set();

    function check(node, spec, typeOnly) {
      if (typeof spec !== 'string') return;
      if (!spec.startsWith('.')) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (entry.denyPackages?.includes(pkg)) {
          context.report({ node, messageId: 'forbiddenPackage', data: { file, spec, why: `${entry.from} runs where "${pkg}" does not` } });
        }
        return;
      }
      const target = stripExt(toPosix(relative(root, resolve(dirname(context.filename), spec))));
      const allowed = entry.allow ? entry.allow.some((f) => under(target, f)) : true;
      const denied = entry.deny ? entry.deny.some((f) => under(target, f)) : false;
      if (allowed && !denied) return;
      if (typeOnly && entry.allowTypes?.some((f) => under(target, f))) return;
      const exception = mine.find((e) => stripExt(e.target) === target);
      if (exception) {
        used.add(exception);
        return;
      }
      const why = entry.allow
        ? `${entry.from} may import only ${entry.allow.join(', ')}${entry.allowTypes ? ` (and types from ${entry.allowTypes.join(', ')})` : ''}`
        : `${entry.from} may not import ${entry.deny.join(', ')}`;
      context.report({ node, messageId: 'forbidden', data: { file, target, spec, why } });
    }
    const typeOnlyDeclaration = (node) =>
      node.importKind === 'type' || node.exportKind === 'type'
      || (node.specifiers?.length > 0 && node.specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type'));

    return {
      ImportDeclaration: (node) => check(node, node.source.value, typeOnlyDeclaration(node)),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, typeOnlyDeclaration(node)),
      ExportAllDeclaration: (node) => check(node, node.source.value, node.exportKind === 'type'),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value, false),
      TSImportType: (node) => {
        const arg = node.argument?.literal ?? node.argument;
        if (arg?.type === 'Literal') check(node, arg.value, true);
      },
      TSExternalModuleReference: (node) => node.expression.type === 'Literal' && check(node, node.expression.value, false),
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments[0]?.type === 'Literal') {
          check(node, node.arguments[0].value, false);
        }
      },
      'Program:exit': (node) => {
        for (const e of mine) {
          if (!used.has(e)) context.report({ node, messageId: 'staleException', data: { file, target: e.target } });
        }
      },
    };
  },
};

export default { rules: { 'import-boundaries': rule } };
