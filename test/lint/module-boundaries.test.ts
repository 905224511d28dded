import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import plugin, { moduleBoundaries } from '../../eslint/module-boundaries.js';

// RuleTester drives whatever test framework it is given.
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const ROOT = '/repo';
const options = [{ root: ROOT }];
const file = (rel: string) => `${ROOT}/${rel}`;

const ruleTester = new RuleTester({
  languageOptions: { parser: tseslint.parser, ecmaVersion: 'latest', sourceType: 'module' },
});

const BILLING = file('src/modules/billing/invoices/service.ts');
const KERNEL = file('src/kernel/events/outbox.ts');

describe('seva plugin', () => {
  it('exposes the rule as seva/module-boundaries', () => {
    if (plugin.rules['module-boundaries'] !== moduleBoundaries) throw new Error('rule not registered');
  });
});

ruleTester.run('seva/module-boundaries', moduleBoundaries, {
  valid: [
    // Packages are always allowed, everywhere.
    { filename: BILLING, options, code: "import { sql } from 'kysely'; import fs from 'node:fs';" },
    { filename: KERNEL, options, code: "import { z } from 'zod';" },
    // Own module folder, any depth.
    { filename: BILLING, options, code: "import { x } from './store.js'; import { y } from '../index.js';" },
    { filename: BILLING, options, code: "import { x } from '../../billing/db/schema.js';" },
    // Kernel only through its entry: index.js, index.ts, or the folder.
    { filename: BILLING, options, code: "import { defineModule } from '../../../kernel/index.js';" },
    { filename: BILLING, options, code: "import type { Actor } from '../../../kernel/index.ts';" },
    { filename: BILLING, options, code: "import { defineModule } from '../../../kernel';" },
    { filename: BILLING, options, code: "import { defineModule } from '/repo/src/kernel/index.js';" },
    // Another module through its index.
    { filename: BILLING, options, code: "import { identity } from '../../identity/index.js';" },
    { filename: BILLING, options, code: "export { identity } from '../../identity/index.ts';" },
    { filename: BILLING, options, code: "export * from '../../identity/index.js';" },
    { filename: BILLING, options, code: "const m = await import('../../identity/index.js');" },
    { filename: BILLING, options, code: "type T = import('../../identity/index.js').Identity;" },
    // Dynamic imports with a computed specifier cannot be checked.
    { filename: BILLING, options, code: "const m = await import(name);" },
    // Kernel may import kernel internals freely.
    { filename: KERNEL, options, code: "import { db } from '../db/database.js'; import { k } from '../index.js';" },
    // Tests and the server may import anything.
    { filename: file('test/billing/invoices.test.ts'), options, code: "import { s } from '../../src/modules/billing/invoices/store.js'; import { d } from '../../src/kernel/db/database.js';" },
    { filename: file('src/server/app.ts'), options, code: "import { s } from '../modules/billing/invoices/store.js'; import { d } from '../kernel/db/database.js';" },
    { filename: file('bench/run.ts'), options, code: "import { d } from '../src/kernel/db/database.js';" },
    // A module's own tests may use the shared test harness.
    { filename: file('src/modules/billing/invoices.test.ts'), options, code: "import { startTestRuntime } from '../../../test/support/test-runtime.js';" },
    // A file directly under src/modules/ belongs to no module.
    { filename: file('src/modules/all.ts'), options, code: "import { s } from './billing/invoices/store.js';" },
  ],
  invalid: [
    {
      // Only a module's tests may reach the harness, and only test/support.
      filename: file('src/modules/billing/service.ts'),
      options,
      code: "import { startTestRuntime } from '../../../test/support/test-runtime.js';",
      errors: [{ messageId: 'moduleOther' }],
    },
    {
      filename: file('src/modules/billing/service.test.ts'),
      options,
      code: "import { pingModule } from '../../../test/fixtures/modules.js';",
      errors: [{ messageId: 'moduleOther' }],
    },
    {
      filename: file('src/modules/billing/service.ts'),
      options,
      code: "import { store } from '../identity/store.js';",
      errors: [
        {
          message:
            'module "billing" may import module "identity" only through src/modules/identity/index.ts (found ../identity/store.js)',
        },
      ],
    },
    {
      filename: file('src/modules/billing/service.ts'),
      options,
      code: "import { db } from '../../kernel/db/database.js';",
      errors: [
        {
          message: 'module code may use the kernel only through src/kernel/index.ts (found ../../kernel/db/database.js)',
        },
      ],
    },
    // Type-only imports and re-exports follow the same rules.
    {
      filename: BILLING,
      options,
      code: "import type { Identity } from '../../identity/types.js';",
      errors: [{ messageId: 'crossModule' }],
    },
    {
      filename: BILLING,
      options,
      code: "import { type Identity } from '../../identity/types.js';",
      errors: [{ messageId: 'crossModule' }],
    },
    {
      filename: BILLING,
      options,
      code: "export { Identity } from '../../identity/types.js';\nexport * from '../../identity/store.js';\nexport * as k from '../../../kernel/db/index.js';",
      errors: [{ messageId: 'crossModule' }, { messageId: 'crossModule' }, { messageId: 'kernelDeep' }],
    },
    // Dynamic imports and import types with literal specifiers.
    {
      filename: BILLING,
      options,
      code: "const m = await import('../../identity/store.js');\nconst n = await import(`../../../kernel/log/logger.js`);",
      errors: [{ messageId: 'crossModule', line: 1 }, { messageId: 'kernelDeep', line: 2 }],
    },
    {
      filename: BILLING,
      options,
      code: "type T = import('../../identity/store.js').Store;",
      errors: [{ messageId: 'crossModule' }],
    },
    {
      filename: BILLING,
      options,
      code: "import store = require('../../identity/store.js');",
      errors: [{ messageId: 'crossModule' }],
    },
    // Absolute specifiers are resolved too.
    {
      filename: BILLING,
      options,
      code: "import { s } from '/repo/src/modules/identity/store.js';",
      errors: [{ messageId: 'crossModule' }],
    },
    // A folder of another module that is not its root is not its entry.
    {
      filename: BILLING,
      options,
      code: "import { s } from '../../identity/db/index.js';",
      errors: [{ messageId: 'crossModule' }],
    },
    // Module code may not reach into the server, tests or other project paths.
    {
      filename: BILLING,
      options,
      code: "import { app } from '../../../server/app.js';",
      errors: [
        {
          message:
            'module "billing" may not import src/server/app.js: module code may import only its own folder, src/kernel/index.ts, other modules\' index.ts and packages (found ../../../server/app.js)',
        },
      ],
    },
    {
      filename: BILLING,
      options,
      code: "import { t } from '../../../../test/support/test-database.js';",
      errors: [{ messageId: 'moduleOther' }],
    },
    // The kernel never depends on modules or on the server, not even on a module's index.
    {
      filename: KERNEL,
      options,
      code: "import { identity } from '../../modules/identity/index.js';",
      errors: [
        { message: 'kernel code may not import from src/modules (found ../../modules/identity/index.js)' },
      ],
    },
    {
      filename: KERNEL,
      options,
      code: "import type { Cli } from '../../server/cli.js';\nexport * from '../../modules/all.js';\nconst m = await import('../../modules/billing/store.js');",
      errors: [
        { message: 'kernel code may not import from src/server (found ../../server/cli.js)' },
        { messageId: 'kernelToModules' },
        { messageId: 'kernelToModules' },
      ],
    },
  ],
});

// Without the `root` option the rule resolves against ESLint's cwd.
ruleTester.run('seva/module-boundaries (default root)', moduleBoundaries, {
  valid: [{ filename: `${process.cwd()}/src/modules/a/x.ts`, code: "import { k } from '../../kernel/index.js';" }],
  invalid: [
    {
      filename: `${process.cwd()}/src/modules/a/x.ts`,
      code: "import { s } from '../b/store.js';",
      errors: [{ message: 'module "a" may import module "b" only through src/modules/b/index.ts (found ../b/store.js)' }],
    },
  ],
});
