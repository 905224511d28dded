import { z } from '../../kernel/index.js';

/** The language every tenant falls back to when neither the asked locale nor its parent has a text. */
export const DEFAULT_LOCALE = 'en';

export const tenantCode = z.string().regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9]*){0,5}$/, 'a tenant code such as in.ka.bengaluru');

/** A BCP 47 tag, stored canonical (`hi-in` → `hi-IN`). */
export const localeTag = z
  .string()
  .max(35)
  .refine((v) => {
    try {
      return Intl.getCanonicalLocales(v).length === 1;
    } catch {
      return false;
    }
  }, 'a BCP 47 language tag such as hi-IN')
  .transform((v) => Intl.getCanonicalLocales(v)[0]!);

/** `in.ka.bengaluru` → city, state, country: the nearest tenant first. */
export function tenantChain(tenant: string): string[] {
  const parts = tenant.split('.');
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('.'));
}

/** `hi-IN` → `hi-IN`, `hi`, then the default language. */
export function localeChain(locale: string): string[] {
  const chain: string[] = [];
  const parts = locale.split('-');
  for (let i = parts.length; i > 0; i--) chain.push(parts.slice(0, i).join('-'));
  if (!chain.includes(DEFAULT_LOCALE)) chain.push(DEFAULT_LOCALE);
  return chain;
}
