export { newId, isId } from './ids.js';
export { parseMasterKey, loadOrCreateMasterKeyFile } from './master-key.js';
export { KeyRing } from './envelope.js';
export { blindIndex, normalizeForIndex } from './blind-index.js';
