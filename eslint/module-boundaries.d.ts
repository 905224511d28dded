import type { ESLint, Rule } from 'eslint';

/** `seva/module-boundaries`: see module-boundaries.js. */
export declare const moduleBoundaries: Rule.RuleModule;

/** The local `seva` ESLint plugin. */
declare const plugin: ESLint.Plugin & { rules: { 'module-boundaries': Rule.RuleModule } };
export default plugin;
