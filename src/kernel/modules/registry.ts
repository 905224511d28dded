import { SevaBootError } from '../errors/boot-error.js';
import type { ModuleDef } from './define.js';

const MODULE_NAME = /^[a-z][a-z0-9]*$/;

/** Which modules run here, where the others live, and an order that puts dependencies first. */
export interface ModulePlan {
  all: ReadonlyMap<string, ModuleDef>;
  local: readonly ModuleDef[];
  remote: ReadonlyMap<string, string>;
}

/**
 * Checks the catalogue and the selection at boot: unknown or duplicate names, dependency cycles,
 * and dependencies that are neither local nor reachable at a configured URL stop the start.
 */
export function planModules(catalog: readonly ModuleDef[], selection: string, moduleUrls: Record<string, string>): ModulePlan {
  const all = new Map<string, ModuleDef>();
  for (const def of catalog) {
    if (!MODULE_NAME.test(def.name)) throw new SevaBootError(`module name "${def.name}" must be lower case letters and digits`);
    if (all.has(def.name)) throw new SevaBootError(`module "${def.name}" is defined twice`);
    all.set(def.name, def);
  }
  for (const def of catalog) {
    for (const dep of def.dependsOn ?? []) {
      if (!all.has(dep)) throw new SevaBootError(`module "${def.name}" depends on "${dep}", which is not a known module`);
    }
  }
  const order = topologicalOrder(all);
  const chosen = selectModules(selection, all);
  for (const name of Object.keys(moduleUrls)) {
    if (!all.has(name)) throw new SevaBootError(`SEVA_MODULE_URLS names unknown module "${name}"`);
  }
  for (const name of chosen) {
    for (const dep of all.get(name)!.dependsOn ?? []) {
      if (!chosen.has(dep) && !moduleUrls[dep]) {
        throw new SevaBootError(
          `module "${name}" needs module "${dep}", which does not run in this process and has no URL: add it to SEVA_MODULES or set SEVA_MODULE_URLS=${dep}=http://host:port`,
        );
      }
    }
  }
  const remote = new Map(Object.entries(moduleUrls).filter(([name]) => !chosen.has(name)));
  return { all, local: order.filter((name) => chosen.has(name)).map((name) => all.get(name)!), remote };
}

function selectModules(selection: string, all: ReadonlyMap<string, ModuleDef>): Set<string> {
  if (selection.trim() === 'all') return new Set(all.keys());
  const names = selection.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !all.has(n));
  if (unknown.length > 0) {
    throw new SevaBootError(`SEVA_MODULES names unknown module "${unknown.join('", "')}" (known: ${[...all.keys()].join(', ') || 'none'})`);
  }
  return new Set(names);
}

function topologicalOrder(all: ReadonlyMap<string, ModuleDef>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      throw new SevaBootError(`modules depend on each other in a cycle: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
    }
    state.set(name, 'visiting');
    for (const dep of all.get(name)!.dependsOn ?? []) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of all.keys()) visit(name, []);
  return order;
}
