// Locale tags, fallback chains and text direction are the kernel's, shared with every module.
export { canonicalLocale, DEFAULT_LOCALE, localeChain, localeTag, textDirection as direction } from '../../kernel/index.js';
