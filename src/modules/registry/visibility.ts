import { can, type Actor } from '../../kernel/index.js';
import type { Registry } from './definition.js';
import { deletePath, getPath, maskValue, setPath } from './field-values.js';

export const PII_READ = 'registry.record.pii.read';

export type Level = 'plain' | 'masked' | 'hidden';
const OPENNESS: Record<Level, number> = { hidden: 0, masked: 1, plain: 2 };

/**
 * The most a caller may see of a field: the most open level among its roles, else the field's
 * default, else plain. For PII "plain" is a ceiling: the value is still masked unless the caller
 * asks for plain text with a reason and holds `registry.record.pii.read`.
 */
export function ceilingFor(registry: Registry, field: string, actor: Actor): Level {
  const visibility = registry.definition.fields[field]?.visibility;
  if (!visibility) return 'plain';
  let best: Level | undefined;
  for (const role of actor.roles) {
    const level = visibility.roles[role];
    if (level && (!best || OPENNESS[level] > OPENNESS[best])) best = level;
  }
  return best ?? visibility.default ?? 'plain';
}

export interface View {
  data: Record<string, unknown>;
  masked: string[];
  hidden: string[];
  /** PII fields returned in plain text: what the audit entry of the read names. */
  plainPii: string[];
}

export interface ViewOptions {
  /** The caller asked for plain PII (and gave a reason, checked by the caller of this function). */
  plain: boolean;
  /** The caller is the citizen the record is about: their own PII is theirs to read. */
  owner: boolean;
}

export function mayReadPlainPii(actor: Actor): boolean {
  return can(actor, PII_READ);
}

/** What `actor` sees of a full (unsealed) record. */
export function viewOf(registry: Registry, actor: Actor, full: Record<string, unknown>, options: ViewOptions): View {
  const data = structuredClone(full);
  const view: View = { data, masked: [], hidden: [], plainPii: [] };
  for (const [field, flags] of Object.entries(registry.definition.fields)) {
    const value = getPath(data, field);
    if (value === undefined || value === null) continue;
    const level = options.owner ? 'plain' : ceilingFor(registry, field, actor);
    if (level === 'hidden') {
      deletePath(data, field);
      view.hidden.push(field);
    } else if (level === 'masked' || (flags.pii && !options.owner && !(options.plain && mayReadPlainPii(actor)))) {
      setPath(data, field, maskValue(value));
      view.masked.push(field);
    } else if (flags.pii) view.plainPii.push(field);
  }
  return view;
}
