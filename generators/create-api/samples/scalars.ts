/** Samples of strings (formats, lengths, patterns) and numbers (bounds, multipleOf). */
import { type Sample, type SchemaObject } from './common.js';
import { patternCandidates, testPattern } from './regex.js';

export const NUMBER_FORMATS: ReadonlySet<string> = new Set(['int32', 'int64', 'float', 'double']);

const FORMAT_SAMPLES: Readonly<Record<string, string>> = {
  email: 'user@example.com',
  uuid: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  date: '2024-01-15',
  time: '10:00:00Z',
  'date-time': '2024-01-15T10:00:00Z',
  'iso-time': '10:00:00Z',
  'iso-date-time': '2024-01-15T10:00:00Z',
  duration: 'P1D',
  uri: 'https://example.com',
  'uri-reference': 'https://example.com/path',
  'uri-template': 'https://example.com/{id}',
  url: 'https://example.com',
  hostname: 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  regex: '^[a-z]+$',
  'json-pointer': '/path/0',
  'json-pointer-uri-fragment': '#/path/0',
  'relative-json-pointer': '0/path',
  byte: 'c2FtcGxl',
  password: 'password',
  binary: 'binary',
};

export function sampleString(s: SchemaObject, variant: number): Sample {
  const minLength = typeof s['minLength'] === 'number' ? s['minLength'] : 0;
  const maxLength = typeof s['maxLength'] === 'number' ? s['maxLength'] : Infinity;
  const format = typeof s['format'] === 'string' ? s['format'] : undefined;
  const pattern = typeof s['pattern'] === 'string' ? s['pattern'] : undefined;
  const fits = (v: string) => {
    const length = [...v].length;
    return length >= minLength && length <= maxLength;
  };
  if (format !== undefined && FORMAT_SAMPLES[format] !== undefined && !NUMBER_FORMATS.has(format)) {
    const base = FORMAT_SAMPLES[format];
    const candidates = variant === 0 ? [base] : [formatVariant(format, base, variant), base];
    for (const c of candidates) {
      if (fits(c) && (pattern === undefined || testPattern(pattern, c))) return { ok: true, value: c };
    }
    return { ok: false, reason: `no sample for format "${format}" within the length bounds${pattern ? ' and pattern' : ''}` };
  }
  if (pattern !== undefined) {
    const candidates = patternCandidates(pattern, minLength, variant);
    for (const c of candidates) {
      if (fits(c) && testPattern(pattern, c)) return { ok: true, value: c };
    }
    return { ok: false, reason: `no simple string matches the pattern ${JSON.stringify(pattern)}` };
  }
  let value = variant === 0 ? 'string' : `string${variant}`;
  if ([...value].length < minLength) value = value + 'x'.repeat(minLength - [...value].length);
  if ([...value].length > maxLength) value = [...value].slice(0, maxLength).join('');
  if (variant > 0 && maxLength < 8) {
    // Short strings: vary the characters instead of appending.
    const alphabet = 'abcdefghijklmnopqrstuvwxyz';
    value = [...value].map((ch, i) => (i === 0 ? alphabet[variant % alphabet.length] ?? ch : ch)).join('');
  }
  return fits(value) ? { ok: true, value } : { ok: false, reason: `minLength ${minLength} is greater than maxLength ${maxLength}` };
}

function formatVariant(format: string, base: string, variant: number): string {
  switch (format) {
    case 'email':
      return `user${variant}@example.com`;
    case 'uuid':
      return `3fa85f64-5717-4562-b3fc-${(0x2c963f66afa6 + variant).toString(16).padStart(12, '0').slice(-12)}`;
    case 'date':
      return `2024-01-${String(15 + (variant % 14)).padStart(2, '0')}`;
    case 'date-time':
    case 'iso-date-time':
      return `2024-01-${String(15 + (variant % 14)).padStart(2, '0')}T10:00:00Z`;
    case 'uri':
    case 'url':
    case 'uri-reference':
      return `https://example.com/${variant}`;
    case 'hostname':
      return `host${variant}.example.com`;
    case 'ipv4':
      return `192.0.2.${(variant % 254) + 1}`;
    default:
      return base;
  }
}
export function sampleNumber(s: SchemaObject, integer: boolean, variant: number): Sample {
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
  const min = num('minimum');
  const max = num('maximum');
  const exMin = num('exclusiveMinimum');
  const exMax = num('exclusiveMaximum');
  const multipleOf = num('multipleOf');
  const format = typeof s['format'] === 'string' ? s['format'] : undefined;
  let lo = -Infinity;
  let hi = Infinity;
  let loOpen = false;
  let hiOpen = false;
  if (min !== undefined) lo = min;
  if (exMin !== undefined && exMin >= lo) {
    lo = exMin;
    loOpen = true;
  }
  if (max !== undefined) hi = max;
  if (exMax !== undefined && exMax <= hi) {
    hi = exMax;
    hiOpen = true;
  }
  if (format === 'int32') {
    lo = Math.max(lo, -2147483648);
    hi = Math.min(hi, 2147483647);
  }
  const inRange = (v: number) => (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
  const step = multipleOf ?? 1;
  const okValue = (v: number) =>
    Number.isFinite(v) && inRange(v) && (!integer || Number.isInteger(v)) && (multipleOf === undefined || Number.isInteger(v / multipleOf));

  // Where to start: 1 when unconstrained (a friendlier sample than 0), else the lower bound.
  let start: number;
  if (Number.isFinite(lo)) start = lo;
  else if (Number.isFinite(hi)) start = Math.min(hi, 1);
  else start = 1;
  const candidates: number[] = [];
  if (multipleOf !== undefined) {
    const k0 = Math.ceil(start / multipleOf);
    for (let k = k0; k < k0 + 50; k++) candidates.push(k * multipleOf);
    if (!Number.isFinite(lo)) for (let k = k0 - 1; k > k0 - 50; k--) candidates.push(k * multipleOf);
  } else {
    const base = integer ? Math.ceil(start) : start;
    candidates.push(base, base + 1, integer ? base : base + 0.5);
    if (!Number.isFinite(lo)) candidates.push(base - 1, Math.floor(hi), Math.floor(hi) - 1);
    if (Number.isFinite(lo) && Number.isFinite(hi)) candidates.push(integer ? Math.floor((lo + hi) / 2) : (lo + hi) / 2);
  }
  const valid = [...new Set(candidates)].filter(okValue);
  const first = valid[0];
  if (first !== undefined) {
    let v = valid[variant];
    if (v === undefined) v = okValue(first + step * variant) ? first + step * variant : first;
    return { ok: true, value: Object.is(v, -0) ? 0 : v };
  }
  return { ok: false, reason: `no ${integer ? 'integer' : 'number'} satisfies the bounds${multipleOf !== undefined ? ` and multipleOf ${multipleOf}` : ''}` };
}
