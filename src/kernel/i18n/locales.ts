import { z } from 'zod';

/** Texts with no match in the asked locale or its parents come from this one. */
export const DEFAULT_LOCALE = 'en';

/** Languages written right to left (ISO 639 codes), and scripts, for a text's `direction`. */
const RTL_LANGUAGES = new Set(['ar', 'arc', 'ckb', 'dv', 'fa', 'he', 'ks', 'ku', 'ps', 'sd', 'syr', 'ug', 'ur', 'yi']);
const RTL_SCRIPTS = new Set(['Arab', 'Hebr', 'Syrc', 'Thaa', 'Nkoo', 'Adlm', 'Rohg']);

/** A BCP 47 tag in its canonical form (`hi-in` → `hi-IN`), or undefined when it is not one. */
export function canonicalLocale(tag: string): string | undefined {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return canonical;
  } catch {
    return undefined;
  }
}

/** An input field holding a BCP 47 language tag, stored canonical. */
export const localeTag = z
  .string()
  .max(35)
  .transform((tag, ctx) => {
    const canonical = canonicalLocale(tag);
    if (!canonical) {
      ctx.addIssue({ code: 'custom', message: 'a BCP 47 language tag such as en, hi-IN or ar' });
      return z.NEVER;
    }
    return canonical;
  });

/** `hi-Latn-IN` → [`hi-Latn-IN`, `hi-Latn`, `hi`, `en`]: drop the last subtag (and a singleton before it). */
export function localeChain(locale: string, fallback = DEFAULT_LOCALE): string[] {
  const chain: string[] = [];
  let parts = locale.split('-');
  while (parts.length > 0) {
    chain.push(parts.join('-'));
    parts = parts.slice(0, -1);
    while (parts.length > 1 && parts[parts.length - 1]!.length === 1) parts = parts.slice(0, -1);
  }
  if (!chain.includes(fallback)) chain.push(fallback);
  return chain;
}

export function textDirection(locale: string): 'ltr' | 'rtl' {
  const parsed = new Intl.Locale(locale);
  if (parsed.script) return RTL_SCRIPTS.has(parsed.script) ? 'rtl' : 'ltr';
  return RTL_LANGUAGES.has(parsed.language) ? 'rtl' : 'ltr';
}
