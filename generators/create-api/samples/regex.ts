/** Strings that match a regular expression (`pattern`), built from the expression for simple ones. */

export function testPattern(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return false;
  }
}

export function patternCandidates(pattern: string, minLength: number, variant: number): string[] {
  const out: string[] = [];
  for (let extra = 0; extra <= Math.max(3, minLength); extra++) {
    const built = buildFromPattern(pattern, extra);
    if (built !== undefined) out.push(built);
  }
  const simple = ['sample', 'a', 'abc', 'A', 'ABC', 'Abc', '1', '123', 'a1', 'abc123', 'A1', 'a-b', 'a_b', 'a.b', 'x@y.z', ''];
  out.push(...simple);
  if (variant > 0) return [...new Set(out.map((c) => varyMatching(pattern, c, variant)).concat(out))];
  return [...new Set(out)];
}

/** Tries to change a matching candidate for uniqueItems (`a` → `b`…), keeping it matching. */
function varyMatching(pattern: string, candidate: string, variant: number): string {
  const chars = [...candidate];
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i] as string;
    const pool = /[0-9]/.test(ch) ? '0123456789' : /[a-z]/.test(ch) ? 'abcdefghijklmnopqrstuvwxyz' : /[A-Z]/.test(ch) ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' : '';
    if (pool === '') continue;
    const next = pool[(pool.indexOf(ch) + variant) % pool.length] as string;
    const copy = [...chars];
    copy[i] = next;
    const text = copy.join('');
    if (testPattern(pattern, text)) return text;
  }
  return candidate;
}

/**
 * A string for a simple regular expression: literals, escapes (\d \w \s \. …), classes, groups with
 * alternatives (first one), quantifiers (their minimum, plus `extra` for open-ended ones). `undefined` for
 * anything else (look-arounds, back-references).
 */
function buildFromPattern(pattern: string, extra: number): string | undefined {
  let i = 0;
  const src = [...pattern];

  function parseAlternatives(): string | undefined {
    const first = parseSequence();
    if (first === undefined) return undefined;
    // skip the other alternatives
    while (src[i] === '|') {
      i++;
      if (parseSequence() === undefined) return undefined;
    }
    return first;
  }

  function parseSequence(): string | undefined {
    let out = '';
    while (i < src.length && src[i] !== '|' && src[i] !== ')') {
      const atom = parseAtom();
      if (atom === undefined) return undefined;
      const q = parseQuantifier();
      if (q === undefined) return undefined;
      out += atom.repeat(q);
    }
    return out;
  }

  function parseQuantifier(): number | undefined {
    const ch = src[i];
    let count = 1;
    if (ch === '?') {
      i++;
      count = 0;
    } else if (ch === '*') {
      i++;
      count = extra;
    } else if (ch === '+') {
      i++;
      count = 1 + extra;
    } else if (ch === '{') {
      const rest = src.slice(i).join('');
      const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
      if (!m) return 1; // a literal "{"
      i += [...m[0]].length;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' || m[3] === undefined ? Infinity : Number(m[3]);
      count = Math.min(max, min + extra);
    }
    if (src[i] === '?') i++; // lazy
    return count;
  }

  function parseAtom(): string | undefined {
    const ch = src[i];
    if (ch === undefined) return undefined;
    if (ch === '^' || ch === '$') {
      i++;
      return '';
    }
    if (ch === '(') {
      i++;
      if (src[i] === '?') {
        if (src[i + 1] === ':') i += 2;
        else return undefined; // look-around or named group
      }
      const inner = parseAlternatives();
      if (inner === undefined || src[i] !== ')') return undefined;
      i++;
      return inner;
    }
    if (ch === '[') return parseClass();
    if (ch === '\\') {
      const next = src[i + 1];
      i += 2;
      switch (next) {
        case 'd':
          return '1';
        case 'w':
          return 'a';
        case 's':
          return ' ';
        case 'D':
        case 'W':
        case 'S':
          return next === 'D' ? 'a' : next === 'W' ? '-' : 'a';
        case undefined:
          return undefined;
        default:
          if (/[0-9bBpPuxck]/.test(next)) return undefined;
          return next;
      }
    }
    if (ch === '.') {
      i++;
      return 'a';
    }
    i++;
    return ch;
  }

  function parseClass(): string | undefined {
    i++; // [
    const negated = src[i] === '^';
    if (negated) i++;
    const members: string[] = [];
    let first = true;
    while (i < src.length && (src[i] !== ']' || first)) {
      first = false;
      let ch = src[i] as string;
      if (ch === '\\') {
        const next = src[i + 1];
        i += 2;
        if (next === 'd') members.push('0-9');
        else if (next === 'w') members.push('a-z');
        else if (next === 's') members.push(' ');
        else if (next === undefined || /[pPuxck]/.test(next)) return undefined;
        else members.push(next);
        continue;
      }
      i++;
      if (src[i] === '-' && src[i + 1] !== undefined && src[i + 1] !== ']') {
        const end = src[i + 1] as string;
        i += 2;
        members.push(`${ch}-${end}`);
        continue;
      }
      ch = ch as string;
      members.push(ch);
    }
    if (src[i] !== ']') return undefined;
    i++;
    if (negated) {
      for (const candidate of ['a', 'x', '1', 'A', '_', '-']) {
        if (!members.some((m) => inMember(m, candidate))) return candidate;
      }
      return undefined;
    }
    return members[0]?.[0];
  }

  function inMember(member: string, ch: string): boolean {
    if (member.length === 3 && member[1] === '-') return ch >= (member[0] as string) && ch <= (member[2] as string);
    return member === ch;
  }

  const result = parseAlternatives();
  if (result === undefined || i < src.length) return undefined;
  return result;
}
