// Local ESLint plugin `seva`: keeps the modular monolith modular.
//
// Rule `seva/module-boundaries`:
//   - src/modules/<a>/** may import: its own folder src/modules/<a>/**; the kernel only through
//     src/kernel/index.ts; another module <b> only through src/modules/<b>/index.ts; packages.
//     Any other project path (src/server, test, bench, ...) is off limits to module code, except
//     that a module's own tests (`*.test.ts`) may use the shared harness in test/support/.
//   - src/kernel/** may not import src/modules/** or src/server/**.
//   - Every other file (src/server, test, bench, bin, ...) may import anything.
// Import specifiers starting with '.' or '/' (or file: URLs) are resolved against the importing
// file; bare specifiers ('kysely', 'node:fs', '#x') are packages and always allowed. Type-only
// imports follow the same rules. Checked forms: import, export ... from, import('...'),
// import('...') types, `import x = require('...')`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const KERNEL_ENTRY = 'src/kernel/index.ts';
/** What may follow `src/kernel/` or `src/modules/<b>/` for the import to hit the public entry. */
const ENTRY_RESTS = new Set(['', 'index', 'index.ts', 'index.js']);
const FILE_EXT = /\.(?:[cm]?[jt]sx?|json)$/;
const TEST_FILE = /\.test\.[cm]?[jt]sx?$/;
const TEST_SUPPORT = 'test/support/';

/**
 * Where a project-relative posix path lives.
 * @param {string} rel
 * @returns {{ kind: 'module', name: string, rest: string }
 *   | { kind: 'modules-root' | 'kernel' | 'server', rest: string }
 *   | { kind: 'other', rest: string }}
 */
function classify(rel) {
  const parts = rel.split('/');
  if (parts[0] === 'src') {
    if (parts[1] === 'modules') {
      const name = parts[2];
      // `src/modules/<b>/...`, or the folder `src/modules/<b>` itself (not a file such as src/modules/x.ts).
      if (name && (parts.length > 3 || !FILE_EXT.test(name))) {
        return { kind: 'module', name, rest: parts.slice(3).join('/') };
      }
      return { kind: 'modules-root', rest: parts.slice(2).join('/') };
    }
    if (parts[1] === 'kernel') return { kind: 'kernel', rest: parts.slice(2).join('/') };
    if (parts[1] === 'server') return { kind: 'server', rest: parts.slice(2).join('/') };
  }
  return { kind: 'other', rest: rel };
}

/**
 * Project-relative posix path of an absolute path ('../x' when outside the root).
 * @param {string} root
 * @param {string} abs
 */
function toRel(root, abs) {
  return path.relative(root, abs).split(path.sep).join('/');
}

/**
 * Absolute path an import specifier points at, or null for a package (bare) specifier.
 * @param {string} specifier
 * @param {string} fromDir
 */
function resolveSpecifier(specifier, fromDir) {
  if (specifier.startsWith('file:')) {
    try {
      return fileURLToPath(specifier);
    } catch {
      return null;
    }
  }
  if (specifier.startsWith('.') || specifier.startsWith('/') || path.isAbsolute(specifier)) {
    const clean = specifier.replace(/[?#].*$/, '');
    return path.resolve(fromDir, clean);
  }
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
export const moduleBoundaries = {
  meta: {
    type: 'problem',
    docs: {
      description:
        'Module code may use the kernel and other modules only through their index.ts; the kernel may not depend on modules or the server.',
    },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string', description: 'Project root (default: ESLint cwd).' },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      crossModule:
        'module "{{from}}" may import module "{{to}}" only through src/modules/{{to}}/index.ts (found {{specifier}})',
      kernelDeep: 'module code may use the kernel only through ' + KERNEL_ENTRY + ' (found {{specifier}})',
      moduleOther:
        'module "{{from}}" may not import {{target}}: module code may import only its own folder, ' +
        KERNEL_ENTRY +
        ', other modules\' index.ts and packages (found {{specifier}})',
      kernelToModules: 'kernel code may not import from src/modules (found {{specifier}})',
      kernelToServer: 'kernel code may not import from src/server (found {{specifier}})',
    },
  },

  create(context) {
    const options = /** @type {{ root?: string } | undefined} */ (context.options[0]);
    const root = path.resolve(options?.root ?? context.cwd);
    const filename = path.resolve(root, context.filename);
    const self = classify(toRel(root, filename));
    if (self.kind !== 'module' && self.kind !== 'kernel') return {};
    const fromDir = path.dirname(filename);

    /**
     * @param {import('estree').Node} node
     * @param {string} specifier
     */
    function check(node, specifier) {
      const abs = resolveSpecifier(specifier, fromDir);
      if (abs === null) return;
      const rel = toRel(root, abs);
      const target = classify(rel);

      if (self.kind === 'kernel') {
        if (target.kind === 'module' || target.kind === 'modules-root') {
          context.report({ node, messageId: 'kernelToModules', data: { specifier } });
        } else if (target.kind === 'server') {
          context.report({ node, messageId: 'kernelToServer', data: { specifier } });
        }
        return;
      }

      // self.kind === 'module'
      const from = /** @type {{ name: string }} */ (self).name;
      if (target.kind === 'module') {
        if (target.name === from || ENTRY_RESTS.has(target.rest)) return;
        context.report({ node, messageId: 'crossModule', data: { from, to: target.name, specifier } });
        return;
      }
      if (target.kind === 'kernel') {
        if (ENTRY_RESTS.has(target.rest)) return;
        context.report({ node, messageId: 'kernelDeep', data: { specifier } });
        return;
      }
      // A module's tests start whole runtimes through the shared harness; its code may not.
      if (TEST_FILE.test(filename) && rel.startsWith(TEST_SUPPORT)) return;
      context.report({ node, messageId: 'moduleOther', data: { from, target: rel, specifier } });
    }

    /**
     * Checks a node's `source` when it is a string literal (or a template without expressions).
     * @param {any} node
     * @param {any} source
     */
    function checkSource(node, source) {
      if (!source) return;
      if (source.type === 'Literal' && typeof source.value === 'string') {
        check(node, source.value);
      } else if (source.type === 'TemplateLiteral' && source.expressions.length === 0) {
        check(node, source.quasis[0].value.cooked ?? source.quasis[0].value.raw);
      } else if (source.type === 'TSLiteralType') {
        // typescript-eslint < 8.x shape of TSImportType.argument
        checkSource(node, source.literal);
      }
    }

    return {
      /** @param {any} node */
      ImportDeclaration(node) {
        checkSource(node, node.source);
      },
      /** @param {any} node */
      ExportNamedDeclaration(node) {
        checkSource(node, node.source);
      },
      /** @param {any} node */
      ExportAllDeclaration(node) {
        checkSource(node, node.source);
      },
      /** @param {any} node */
      ImportExpression(node) {
        checkSource(node, node.source);
      },
      // `type T = import('../b/store.js').T`
      /** @param {any} node */
      TSImportType(node) {
        checkSource(node, node.source ?? node.argument);
      },
      // `import x = require('../b/store.js')`
      /** @param {any} node */
      TSImportEqualsDeclaration(node) {
        if (node.moduleReference?.type === 'TSExternalModuleReference') {
          checkSource(node, node.moduleReference.expression);
        }
      },
    };
  },
};

/** @type {import('eslint').ESLint.Plugin} */
const plugin = {
  meta: { name: 'seva' },
  rules: { 'module-boundaries': moduleBoundaries },
};

export default plugin;
