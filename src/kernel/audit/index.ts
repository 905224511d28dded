export { appendAudit, appendAuditEntries, auditHash, GENESIS_HASH, type AuditEntry, type AuditRecord } from './audit-log.js';
export { verifyAuditChain, type AuditProblem, type AuditVerification } from './verify.js';
export { canonicalJson } from './canonical-json.js';
