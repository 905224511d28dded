/**
 * One logic-less template syntax for every text the platform renders for people (notifications,
 * receipts, certificates): `{{name}}` or `{{applicant.name}}`, nothing else. No helpers, no
 * sections, no unescaped form, so a template stored as data cannot run code or inject markup.
 * Browser-safe: no Node APIs.
 */
export type Escaping = 'html' | 'none';

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/** Thrown at render time when the values lack some of the template's variables (all are named). */
export class TemplateVariablesMissing extends Error {
  constructor(readonly missing: string[]) {
    super(`missing template variables: ${missing.join(', ')}`);
  }
}

/** The variable names a template uses, in order of first use; a malformed one is an error with its position. */
export function templateVariables(text: string): string[] {
  const names: string[] = [];
  let end = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    checkStray(text, end, match.index);
    const name = match[1]!;
    if (!NAME.test(name)) throw new TemplateSyntaxError(`position ${match.index}: "${name}" is not a variable name such as applicant.name`, match.index);
    if (!names.includes(name)) names.push(name);
    end = match.index + match[0].length;
  }
  checkStray(text, end, text.length);
  return names;
}

function checkStray(text: string, from: number, to: number): void {
  const gap = text.slice(from, to);
  const open = gap.indexOf('{{');
  const close = gap.indexOf('}}');
  const at = open >= 0 ? open : close;
  if (at >= 0) throw new TemplateSyntaxError(`position ${from + at}: unmatched "${open >= 0 ? '{{' : '}}'}"`, from + at);
}

function lookup(values: Record<string, unknown>, name: string): string | undefined {
  let value: unknown = values;
  for (const step of name.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, step)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  // Objects, arrays, null: there is no sensible text for them, so they count as missing.
  return undefined;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Fills every placeholder; any variable without a text value fails the whole render, naming each. */
export function renderTemplate(text: string, values: Record<string, unknown>, escaping: Escaping = 'none'): string {
  const names = templateVariables(text);
  const resolved = new Map(names.map((n) => [n, lookup(values, n)]));
  const missing = names.filter((n) => resolved.get(n) === undefined);
  if (missing.length > 0) throw new TemplateVariablesMissing(missing);
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = resolved.get(name.trim())!;
    return escaping === 'html' ? escapeHtml(value) : value;
  });
}
