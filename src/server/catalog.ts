import type { ModuleDef } from '../kernel/index.js';
import { billingModule } from '../modules/billing/index.js';
import { credentialsModule } from '../modules/credentials/index.js';
import { filesModule } from '../modules/files/index.js';
import { identityModule } from '../modules/identity/index.js';
import { notifyModule } from '../modules/notify/index.js';
import { referenceModule } from '../modules/reference/index.js';
import { registryModule } from '../modules/registry/index.js';
import { workflowModule } from '../modules/workflow/index.js';

/**
 * Every business module this build ships, in no particular order (the kernel orders them by
 * their dependencies). `SEVA_MODULES` picks which of them run in a process.
 */
export const builtInModules: ModuleDef<any>[] = [identityModule, referenceModule, filesModule, notifyModule, registryModule, workflowModule, credentialsModule, billingModule];
