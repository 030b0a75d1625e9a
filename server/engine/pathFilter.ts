// Path include/exclude globs: a glob without a slash matches the file name anywhere; a glob
// with a slash matches the path from the repository root.
import picomatch from 'picomatch';

export function pathFilter(include: string[], exclude: string[]): (path: string) => boolean {
  const compile = (globs: string[]) => {
    const base = globs.filter((g) => !g.includes('/'));
    const full = globs.filter((g) => g.includes('/'));
    const a = base.length ? picomatch(base, { dot: true, basename: true }) : undefined;
    const b = full.length ? picomatch(full, { dot: true }) : undefined;
    if (!a && !b) return undefined;
    return (p: string) => (a ? a(p) : false) || (b ? b(p) : false);
  };
  const inc = compile(include);
  const exc = compile(exclude);
  if (!inc && !exc) return () => true;
  return (p) => (!inc || inc(p)) && !(exc && exc(p));
}
