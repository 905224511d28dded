import { expressionProblems, parseSlaDuration, type FieldProblem } from '../../kernel/index.js';
import type { DefinitionBody } from './definition-schema.js';

/**
 * Everything wrong with a definition's meaning, each with its path in the request body: duplicate
 * names, unknown states, a start state that is missing or doubled, unreachable states, non-terminal
 * dead ends, actions with no role, bad durations, guards and timers. Empty when it can be loaded.
 */
export function definitionProblems(d: DefinitionBody, base = 'body.definition'): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path: `${base}.${path}`, message });

  const states = new Set<string>();
  d.states.forEach((s, i) => {
    if (states.has(s.name)) add(`states.${i}.name`, `duplicate state name ${s.name}`);
    states.add(s.name);
  });
  const actions = new Set<string>();
  d.actions.forEach((a, i) => {
    if (actions.has(a.name)) add(`actions.${i}.name`, `duplicate action name ${a.name}`);
    actions.add(a.name);
  });

  const starts = d.states.filter((s) => s.start);
  if (starts.length !== 1) add('states', `exactly one state must be the start state, found ${starts.length}`);
  if (!d.states.some((s) => s.terminal)) add('states', 'no terminal state: a process could never end');
  if (d.sla !== undefined && !parseSlaDuration(d.sla)) add('sla', `not an ISO 8601 duration of days and time: ${d.sla}`);
  try {
    new Intl.DateTimeFormat('en', { timeZone: d.calendar.timeZone });
  } catch {
    add('calendar.timeZone', `unknown time zone ${d.calendar.timeZone}`);
  }

  const outgoing = new Map<string, string[]>();
  d.actions.forEach((a, i) => {
    if (a.roles.length === 0) add(`actions.${i}.roles`, `action ${a.name} has no role that may take it`);
    if (a.from.length === 0) add(`actions.${i}.from`, `action ${a.name} starts from no state`);
    a.from.forEach((from, j) => {
      if (!states.has(from)) add(`actions.${i}.from.${j}`, `unknown state ${from}`);
      else outgoing.set(from, [...(outgoing.get(from) ?? []), a.to]);
    });
    if (!states.has(a.to)) add(`actions.${i}.to`, `unknown state ${a.to}`);
    if (a.guard !== undefined) problems.push(...expressionProblems(a.guard, `${base}.actions.${i}.guard`));
    if (a.on?.when !== undefined) problems.push(...expressionProblems(a.on.when, `${base}.actions.${i}.on.when`));
  });

  d.states.forEach((s, i) => {
    const leaving = outgoing.get(s.name) ?? [];
    if (s.terminal && leaving.length > 0) add(`states.${i}`, `terminal state ${s.name} has actions leaving it`);
    if (!s.terminal && leaving.length === 0) add(`states.${i}`, `state ${s.name} is a dead end: not terminal and no action leaves it`);
    if (s.terminal && (s.sla || s.assignment || s.timers.length > 0 || s.escalation.length > 0)) add(`states.${i}`, `terminal state ${s.name} cannot have an SLA, assignment, escalation or timers`);
    if (s.sla !== undefined && !parseSlaDuration(s.sla)) add(`states.${i}.sla`, `not an ISO 8601 duration of days and time: ${s.sla}`);
    if (s.sla !== undefined && s.slaPaused) add(`states.${i}.sla`, `state ${s.name} pauses the SLA and cannot have one`);
    if (s.escalation.length > 0 && !s.sla) add(`states.${i}.escalation`, `escalation needs an SLA in state ${s.name}`);
    s.escalation.forEach((level, j) => {
      if (!level.role === !level.designation) add(`states.${i}.escalation.${j}`, 'name exactly one of role and designation');
    });
    s.timers.forEach((timer, j) => {
      if (!parseSlaDuration(timer.after)) add(`states.${i}.timers.${j}.after`, `not an ISO 8601 duration: ${timer.after}`);
      const action = d.actions.find((a) => a.name === timer.action);
      if (!action) add(`states.${i}.timers.${j}.action`, `unknown action ${timer.action}`);
      else if (!action.from.includes(s.name)) add(`states.${i}.timers.${j}.action`, `action ${timer.action} does not leave ${s.name}`);
    });
  });

  // Reachability from the start state (only when the graph is otherwise sound enough to walk).
  if (starts.length === 1) {
    const seen = new Set<string>([starts[0]!.name]);
    const queue = [starts[0]!.name];
    while (queue.length > 0) {
      for (const next of outgoing.get(queue.shift()!) ?? []) {
        if (states.has(next) && !seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    d.states.forEach((s, i) => {
      if (!seen.has(s.name)) add(`states.${i}`, `state ${s.name} cannot be reached from the start state`);
    });
  }
  return problems;
}
