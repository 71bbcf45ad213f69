/**
 * The `--upstream name=url[,url2…]`, `--probe /path` and `--upstream-spec name=path-or-url` values of add-health, checked before anything is read
 * or written. Pure and dependency-free, so the command line checks them while parsing (a usage error) and the
 * programmatic API checks them the same way.
 */

export interface UpstreamArgument {
  name: string;
  /** Base URLs in priority order, as given (trimmed). */
  urls: string[];
}

/** Names of upstreams: a letter, then letters, digits, `-`, `_` (they become object keys and variable names). */
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/** The environment variable that overrides an upstream's URLs: `UPSTREAM_<NAME>_URLS`. */
export function upstreamEnvName(name: string): string {
  return `UPSTREAM_${name.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}_URLS`;
}

/** One problem per bad value, each naming the value (`--upstream #2 "…": …`); empty when all are good. */
export function upstreamProblems(values: readonly string[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  values.forEach((value, i) => {
    const where = `--upstream${values.length > 1 ? ` #${i + 1}` : ''} ${JSON.stringify(value)}`;
    const eq = value.indexOf('=');
    if (eq < 0) {
      problems.push(`${where}: expected name=url[,url…], e.g. users=http://users:8080`);
      return;
    }
    const name = value.slice(0, eq).trim();
    if (!NAME.test(name)) {
      problems.push(`${where}: the name must start with a letter and hold only letters, digits, - and _ (at most 63)`);
      return;
    }
    const env = upstreamEnvName(name);
    const clash = seen.get(env);
    if (clash !== undefined) {
      problems.push(clash === name ? `${where}: upstream "${name}" is given twice` : `${where}: "${name}" and "${clash}" would share the variable ${env}`);
      return;
    }
    seen.set(env, name);
    const urls = value.slice(eq + 1).split(',').map((u) => u.trim());
    for (const url of urls) {
      const problem = urlProblem(url);
      if (problem !== undefined) problems.push(`${where}: ${problem}`);
    }
  });
  return problems;
}

/** Why `url` is not an upstream base URL, or undefined. */
export function urlProblem(url: string): string | undefined {
  if (url === '') return 'an empty URL (expected http:// or https:// URLs, separated by commas)';
  // The URL parser drops tabs and line breaks silently; a base URL never holds them.
  if (/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(url)) return `${JSON.stringify(url)} holds white space or control characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL (expected http://host[:port][/path])`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${JSON.stringify(url)}: only http and https URLs are supported`;
  if (parsed.username !== '' || parsed.password !== '') return `${JSON.stringify(url)}: credentials do not belong in a URL the project commits; send them as headers from src/upstreams.ts`;
  if (parsed.search !== '' || parsed.hash !== '') return `${JSON.stringify(url)}: a base URL has no query or fragment`;
  return undefined;
}

/** The parsed values; call `upstreamProblems` first (this one assumes they are good). */
export function parseUpstreams(values: readonly string[]): UpstreamArgument[] {
  return values.map((value) => {
    const eq = value.indexOf('=');
    return { name: value.slice(0, eq).trim(), urls: value.slice(eq + 1).split(',').map((u) => u.trim()) };
  });
}

export interface UpstreamSpecArgument {
  name: string;
  /** Path (relative to the working folder) or http(s) URL of the upstream's OpenAPI spec, as given. */
  spec: string;
}

/** One problem per bad `--upstream-spec name=path-or-url` value, each naming the value; empty when all are good. */
export function upstreamSpecProblems(values: readonly string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  values.forEach((value, i) => {
    const where = `--upstream-spec${values.length > 1 ? ` #${i + 1}` : ''} ${JSON.stringify(value)}`;
    const eq = value.indexOf('=');
    if (eq < 0) {
      problems.push(`${where}: expected name=path-or-url, e.g. users=specs/users.yaml`);
      return;
    }
    const name = value.slice(0, eq).trim();
    const spec = value.slice(eq + 1).trim();
    if (!NAME.test(name)) problems.push(`${where}: the name must start with a letter and hold only letters, digits, - and _ (at most 63)`);
    else if (seen.has(name)) problems.push(`${where}: upstream "${name}" has two specs`);
    else if (spec === '') problems.push(`${where}: no spec after "="`);
    else if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(spec)) problems.push(`${where}: the spec path holds control characters`);
    else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) && !/^https?:\/\//i.test(spec)) problems.push(`${where}: only a file path or an http(s) URL`);
    seen.add(name);
  });
  return problems;
}

/** The parsed values; call `upstreamSpecProblems` first. */
export function parseUpstreamSpecs(values: readonly string[]): UpstreamSpecArgument[] {
  return values.map((value) => {
    const eq = value.indexOf('=');
    return { name: value.slice(0, eq).trim(), spec: value.slice(eq + 1).trim() };
  });
}

/** Why `path` is not a probe path, or undefined. */
export function probeProblem(path: string): string | undefined {
  // Any printable text after the slash; the generated code holds it as an escaped string.
  if (!/^\/[^\s\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/.test(path)) return `--probe ${JSON.stringify(path)}: expected a path such as /health/ready (no spaces)`;
  return undefined;
}

/** Names given to `--optional` that name no upstream (given now or before). */
export function unknownOptional(optional: readonly string[], known: ReadonlySet<string>): string[] {
  return optional.filter((n) => !known.has(n));
}

/** Every problem with add-health's values, each naming the value (the command line runs it while parsing). */
export function healthOptionProblems(options: {
  upstreams?: readonly string[] | undefined;
  probe?: string | undefined;
  upstreamSpecs?: readonly string[] | undefined;
}): string[] {
  const problems = [...upstreamProblems(options.upstreams ?? []), ...upstreamSpecProblems(options.upstreamSpecs ?? [])];
  if (options.probe !== undefined) {
    const p = probeProblem(options.probe);
    if (p !== undefined) problems.push(p);
    if ((options.upstreams ?? []).length === 0) problems.push('--probe applies to the upstreams of the same run: give it with --upstream');
  }
  return problems;
}
