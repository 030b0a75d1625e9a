// Measures the dashboard bundle minified and gzipped, and what each package contributes:
//   node test/webview/measureBundle.mjs
// (scripts/build.mjs does not minify; this builds a minified copy to dist/webview.min.js.)
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
const r = await build({ entryPoints: ['webview/main.ts'], bundle: true, minify: true, format: 'iife', platform: 'browser', target: 'es2022', outfile: 'dist/webview.min.js', metafile: true, loader: { '.css': 'text' }, logLevel: 'error' });
const out = r.metafile.outputs['dist/webview.min.js'] ?? Object.values(r.metafile.outputs)[0];
const by = {};
for (const [file, v] of Object.entries(out.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  const k = m ? m[1] : 'own code (webview/, protocol/)';
  by[k] = (by[k] ?? 0) + v.bytesInOutput;
}
const total = readFileSync('dist/webview.min.js');
console.log('minified total', total.length, 'gzip', gzipSync(total, { level: 9 }).length);
for (const [k, v] of Object.entries(by).sort((a, b) => b[1] - a[1])) console.log(k.padEnd(36), v);
