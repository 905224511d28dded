import { addBusinessDuration, addElapsedDuration, parseSlaDuration, type OperationContext } from '../../kernel/index.js';
import type { Definition, StateDef } from './definition-schema.js';
import { holidaysOf } from './lookups.js';
import type { WorkflowState } from './workflow-state.js';

/** `from` plus an ISO 8601 duration on the definition's calendar: business days (weekends and the tenant's holidays off) or elapsed time. */
export async function dueAfter(state: WorkflowState, ctx: OperationContext, def: Definition, tenant: string, from: Date, duration: string): Promise<Date> {
  const parsed = parseSlaDuration(duration);
  if (!parsed) throw new Error(`definition ${def.id} holds a bad duration ${duration}`);
  if (def.body.calendar.kind === 'elapsed') return addElapsedDuration(from, parsed);
  return addBusinessDuration(from, parsed, { timeZone: def.body.calendar.timeZone, holidays: await holidaysOf(state, ctx, tenant) });
}

/** The SLA and timer columns of a process that has just entered `target`. */
export interface StateEntry {
  state: string;
  status: 'active' | 'closed';
  state_entered_at: Date;
  due_at: Date | null;
  breached_at: null;
  escalation_level: number;
  escalated_role: null;
  escalate_at: Date | null;
  process_due_at: Date | null;
  paused_at: Date | null;
  timer_at: Date | null;
  timer_action: string | null;
  closed_at: Date | null;
}

/**
 * Entering a state starts its SLA clock (none in a paused or terminal state), arms its earliest
 * timer, and stops or restarts the process clock: time spent waiting on the citizen is added to
 * the process due time when the record comes back.
 */
export async function enterState(
  state: WorkflowState,
  ctx: OperationContext,
  def: Definition,
  tenant: string,
  target: StateDef,
  now: Date,
  before: { process_due_at: Date | null; paused_at: Date | null },
): Promise<StateEntry> {
  let processDue = before.process_due_at;
  let pausedAt = before.paused_at;
  if (target.slaPaused) pausedAt ??= now;
  else if (pausedAt) {
    if (processDue) processDue = new Date(processDue.getTime() + (now.getTime() - pausedAt.getTime()));
    pausedAt = null;
  }
  const due = !target.terminal && !target.slaPaused && target.sla ? await dueAfter(state, ctx, def, tenant, now, target.sla) : null;
  let timerAt: Date | null = null;
  let timerAction: string | null = null;
  for (const timer of target.terminal ? [] : target.timers) {
    // Inactivity is counted in elapsed days: the citizen's clock does not stop at weekends.
    const at = addElapsedDuration(now, parseSlaDuration(timer.after)!);
    if (!timerAt || at < timerAt) [timerAt, timerAction] = [at, timer.action];
  }
  return {
    state: target.name,
    status: target.terminal ? 'closed' : 'active',
    state_entered_at: now,
    due_at: due,
    breached_at: null,
    escalation_level: 0,
    escalated_role: null,
    escalate_at: due,
    process_due_at: processDue,
    paused_at: target.terminal ? null : pausedAt,
    timer_at: timerAt,
    timer_action: timerAction,
    closed_at: target.terminal ? now : null,
  };
}

export const DUE_SOON_MS = 2 * 86_400_000;

/** Breached, due today (UTC), due soon (within two days after today), on track, or none. */
export function slaStatus(due: Date | null, now: Date): 'breached' | 'dueToday' | 'dueSoon' | 'onTrack' | 'none' {
  if (!due) return 'none';
  if (due <= now) return 'breached';
  if (due < endOfDay(now)) return 'dueToday';
  if (due.getTime() <= now.getTime() + DUE_SOON_MS) return 'dueSoon';
  return 'onTrack';
}

export function endOfDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}
