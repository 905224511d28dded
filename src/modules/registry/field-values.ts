/** Reading and writing fields by dotted path (`child.firstName`), and how values are compared. */

export function getPath(data: Record<string, unknown>, path: string): unknown {
  let at: unknown = data;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

export function setPath(data: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at = data;
  for (const part of parts.slice(0, -1)) {
    if (typeof at[part] !== 'object' || at[part] === null || Array.isArray(at[part])) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]!] = value;
}

export function deletePath(data: Record<string, unknown>, path: string): void {
  const parts = path.split('.');
  let at: unknown = data;
  for (const part of parts.slice(0, -1)) {
    if (at === null || typeof at !== 'object') return;
    at = (at as Record<string, unknown>)[part];
  }
  if (at !== null && typeof at === 'object') delete (at as Record<string, unknown>)[parts[parts.length - 1]!];
}

/** A scalar as text for indexing; objects and arrays as canonical-enough JSON. */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * What "the same text" means for search: Unicode-compatible forms, no case, single spaces. The
 * kernel's blind index normalises the same way (minus the inner spaces, handled here first).
 */
export function normaliseText(value: string): string {
  return value.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ');
}

/** `9876543221` → `98******21`; short values are starred entirely, e-mail keeps its domain. */
export function maskValue(value: unknown): string {
  const text = asText(value);
  const at = text.indexOf('@');
  if (at > 0 && /^[^@\s]+@[^@\s]+$/.test(text)) return `${text[0]}${'*'.repeat(at - 1)}${text.slice(at)}`;
  if (text.length <= 4) return '*'.repeat(text.length);
  const keep = text.length <= 6 ? 1 : 2;
  return `${text.slice(0, keep)}${'*'.repeat(text.length - 2 * keep)}${text.slice(-keep)}`;
}

/** Keeps two records' JSON comparable regardless of key order (unchanged updates write nothing). */
export function sameJson(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
