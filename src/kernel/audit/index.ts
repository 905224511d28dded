export { appendAudit, auditHash, auditRecord, GENESIS_HASH, sealAllAudit, sealAudit, type AuditEntry, type AuditRecord } from './audit-log.js';
export { verifyAuditChain, type AuditProblem, type AuditVerification } from './verify.js';
export { canonicalJson } from './canonical-json.js';
