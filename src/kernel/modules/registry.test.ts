import { describe, expect, it } from 'vitest';
import { defineModule, planModules, SevaBootError, type ModuleDef } from '../index.js';

const mod = (name: string, dependsOn: string[] = []): ModuleDef => defineModule({ name, dependsOn });

/** The SevaBootError planModules throws, checked to be one line. */
function planError(catalog: readonly ModuleDef[], selection: string, urls: Record<string, string> = {}): string {
  let caught: unknown;
  try {
    planModules(catalog, selection, urls);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SevaBootError);
  const message = (caught as SevaBootError).message;
  expect(message).not.toContain('\n');
  return message;
}

const names = (defs: readonly ModuleDef[]) => defs.map((d) => d.name);

describe('planModules', () => {
  it("'all' runs every module, dependencies before the modules that need them", () => {
    // Listed in the worst order: each module before what it depends on.
    const catalog = [mod('cases', ['forms', 'identity']), mod('forms', ['identity']), mod('identity'), mod('reports')];
    const plan = planModules(catalog, 'all', {});
    expect(names(plan.local)).toEqual(['identity', 'forms', 'cases', 'reports']);
    expect([...plan.all.keys()].sort()).toEqual(['cases', 'forms', 'identity', 'reports']);
    expect(plan.remote.size).toBe(0);
    const position = new Map(names(plan.local).map((n, i) => [n, i]));
    for (const def of plan.local) for (const dep of def.dependsOn ?? []) expect(position.get(dep)!).toBeLessThan(position.get(def.name)!);
  });

  it('runs only the selected modules, still in dependency order whatever the selection order', () => {
    const catalog = [mod('b', ['a']), mod('a'), mod('c')];
    const plan = planModules(catalog, ' b , a ', {});
    expect(names(plan.local)).toEqual(['a', 'b']);
    expect(plan.all.size).toBe(3);
  });

  it('refuses an unknown module in the selection, naming it and listing the known ones', () => {
    const message = planError([mod('a'), mod('b')], 'a,zebra');
    expect(message).toBe('SEVA_MODULES names unknown module "zebra" (known: a, b)');
  });

  it('refuses a dependency that neither runs here nor has a URL, naming both and SEVA_MODULE_URLS', () => {
    const message = planError([mod('pong', ['ping']), mod('ping')], 'pong');
    expect(message).toContain('"pong"');
    expect(message).toContain('"ping"');
    expect(message).toContain('SEVA_MODULE_URLS=ping=');
  });

  it('accepts that dependency when it has a URL, and lists it as remote', () => {
    const plan = planModules([mod('pong', ['ping']), mod('ping'), mod('other')], 'pong', { ping: 'http://ping:8080' });
    expect(names(plan.local)).toEqual(['pong']);
    expect([...plan.remote]).toEqual([['ping', 'http://ping:8080']]);
  });

  it('does not list a module as remote when it runs here, and refuses URLs for unknown modules', () => {
    const catalog = [mod('pong', ['ping']), mod('ping')];
    expect(planModules(catalog, 'all', { ping: 'http://ping:8080' }).remote.size).toBe(0);
    expect(planError(catalog, 'all', { nope: 'http://nope:1' })).toContain('"nope"');
  });

  it('refuses a dependency on a module the catalogue does not have', () => {
    const message = planError([mod('a', ['ghost']), mod('b')], 'b');
    expect(message).toBe('module "a" depends on "ghost", which is not a known module');
  });

  it('refuses a dependency cycle and shows it', () => {
    expect(planError([mod('a', ['b']), mod('b', ['a'])], 'all')).toContain('a -> b -> a');
    expect(planError([mod('a', ['a'])], 'all')).toContain('a -> a');
    // Only the cycle is shown, not the module that led into it; it is found even when not selected.
    const message = planError([mod('x', ['a']), mod('a', ['b']), mod('b', ['c']), mod('c', ['a']), mod('free')], 'free');
    expect(message).toBe('modules depend on each other in a cycle: a -> b -> c -> a');
  });

  it('refuses a module name defined twice', () => {
    expect(planError([mod('a'), mod('b'), mod('a')], 'all')).toBe('module "a" is defined twice');
  });

  it('refuses module names that are not lower case letters and digits', () => {
    for (const bad of ['Cases', 'my-module', 'my_module', '1st', '', 'a b']) {
      expect(planError([mod(bad)], 'all')).toContain(`module name "${bad}" must be lower case letters and digits`);
    }
    expect(names(planModules([mod('abc123')], 'all', {}).local)).toEqual(['abc123']);
  });
});
