// Tenant codes, locale tags and their fallback chains are the kernel's, shared with every module.
export { DEFAULT_LOCALE, localeChain, localeTag, tenantChain, tenantCode } from '../../kernel/index.js';
