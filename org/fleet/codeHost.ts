// Lists the repositories of a GitHub organisation or a GitLab group over their REST APIs, for
// `org add-repos --github-org NAME | --gitlab-group NAME`. GitHub pages with the Link header
// (rel="next"), GitLab with X-Next-Page. Bounded: a timeout per request, a cap on pages, a cap on
// each answer's size; the token (from the environment) is sent only to the API's own origin,
// so a next link pointing elsewhere is refused rather than followed.

export type CodeHostKind = 'github' | 'gitlab';

export interface CodeHostListOptions {
  kind: CodeHostKind;
  /** The organisation (GitHub) or group path (GitLab, `parent/child` for a subgroup). */
  name: string;
  /** The API root: https://api.github.com, https://HOST/api/v3 (GitHub Enterprise),
   *  https://gitlab.com/api/v4 or a self-hosted GitLab's /api/v4. */
  apiUrl?: string;
  token?: string;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** At most this many pages of 100 (default 1,000: 100,000 repositories). */
  maxPages?: number;
}

export interface CodeHostRepo {
  /** The HTTPS clone URL. */
  url: string;
  archived: boolean;
}

export class CodeHostError extends Error {
  readonly code = 'CODE_HOST';
}

const DEFAULT_API: Record<CodeHostKind, string> = { github: 'https://api.github.com', gitlab: 'https://gitlab.com/api/v4' };
const MAX_PAGE_BYTES = 32 * 1024 * 1024;
const PER_PAGE = 100;

/** The token variable each host reads. */
export const TOKEN_ENV: Record<CodeHostKind, string[]> = { github: ['GITHUB_TOKEN', 'GH_TOKEN'], gitlab: ['GITLAB_TOKEN'] };

export function tokenFromEnv(kind: CodeHostKind, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of TOKEN_ENV[kind]) if (env[name]) return env[name];
  return undefined;
}

/** The URL of rel="next" in a Link header (RFC 8288), if any. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (m && /(^|;)\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2])) return m[1];
  }
  return undefined;
}

async function readLimited(res: Response, limit: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new CodeHostError(`an answer of ${res.url} is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(kind: CodeHostKind, name: string): string {
  return kind === 'github' ? `GitHub organisation "${name}"` : `GitLab group "${name}"`;
}

async function fetchPage(url: string, headers: Record<string, string>, timeoutMs: number, what: string): Promise<{ res: Response; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError' || err.name === 'AbortError') throw new CodeHostError(`listing the ${what}: ${url} did not answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`);
    throw new CodeHostError(`listing the ${what}: cannot reach ${url}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  }
  const text = await readLimited(res, MAX_PAGE_BYTES);
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const message = typeof (body as { message?: unknown } | null)?.message === 'string' ? (body as { message: string }).message : text.slice(0, 200);
    let hint = '';
    if (res.status === 401) hint = ': the token was refused';
    else if (res.status === 403 && res.headers.get('x-ratelimit-remaining') === '0') {
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      hint = `: rate limit reached${Number.isFinite(reset) && reset > 0 ? `, it resets at ${new Date(reset * 1000).toISOString()}` : ''}`;
    } else if (res.status === 404) hint = ': no such organisation or group, or the token cannot see it';
    throw new CodeHostError(`listing the ${what}: ${url} answered ${res.status}${hint} (${message})`);
  }
  if (!Array.isArray(body)) throw new CodeHostError(`listing the ${what}: ${url} did not answer with a JSON array of repositories`);
  return { res, body };
}

/** Every repository of the organisation or group, in the host's order. */
export async function listCodeHostRepos(opts: CodeHostListOptions): Promise<CodeHostRepo[]> {
  const what = describe(opts.kind, opts.name);
  const api = (opts.apiUrl ?? DEFAULT_API[opts.kind]).replace(/\/+$/, '');
  let origin: string;
  try {
    const u = new URL(api);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    origin = u.origin;
  } catch {
    throw new CodeHostError(`--api-url must be an http(s) URL, got "${api.slice(0, 100)}"`);
  }
  if (!opts.name || /[\s?#]/.test(opts.name) || opts.name.includes('..')) throw new CodeHostError(`not a valid ${opts.kind === 'github' ? 'organisation' : 'group'} name: "${opts.name.slice(0, 100)}"`);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxPages = opts.maxPages ?? 1000;
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'code-insights' };
  if (opts.kind === 'github') {
    headers.accept = 'application/vnd.github+json';
    headers['x-github-api-version'] = '2022-11-28';
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  } else if (opts.token) headers['private-token'] = opts.token;

  const base =
    opts.kind === 'github'
      ? `${api}/orgs/${encodeURIComponent(opts.name)}/repos?type=all&per_page=${PER_PAGE}`
      : `${api}/groups/${encodeURIComponent(opts.name)}/projects?include_subgroups=true&order_by=id&sort=asc&per_page=${PER_PAGE}`;
  const out: CodeHostRepo[] = [];
  let url: string | undefined = base;
  for (let page = 1; url; page++) {
    if (page > maxPages) throw new CodeHostError(`listing the ${what}: more than ${maxPages} pages of ${PER_PAGE}; nothing was added (raise --max-pages)`);
    const { res, body } = await fetchPage(url, headers, timeoutMs, what);
    for (const r of body as Record<string, unknown>[]) {
      const clone = opts.kind === 'github' ? r.clone_url : r.http_url_to_repo;
      if (typeof clone === 'string' && clone) out.push({ url: clone, archived: r.archived === true });
    }
    if (opts.kind === 'github') {
      url = nextLink(res.headers.get('link'));
    } else {
      const next = res.headers.get('x-next-page');
      url = next && /^\d+$/.test(next) ? `${base}&page=${next}` : undefined;
    }
    if (url) {
      let nextOrigin: string;
      try {
        nextOrigin = new URL(url, api).origin;
      } catch {
        throw new CodeHostError(`listing the ${what}: the next page's link is not a URL: "${url.slice(0, 100)}"`);
      }
      if (nextOrigin !== origin) throw new CodeHostError(`listing the ${what}: the next page is on ${nextOrigin}, not ${origin}; not followed (the token goes only to the API's origin)`);
      url = new URL(url, api).href;
    }
  }
  return out;
}
