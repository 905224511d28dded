import { defineModule } from '../../kernel/index.js';
import { claimOperations } from './claims.js';
import { definitionOperations } from './definitions.js';
import { figureOperations } from './figures.js';
import { inboxOperations } from './inbox.js';
import { HOLIDAY_SCHEMA } from './lookups.js';
import { workflowMigrations } from './migrations.js';
import { paymentReactions } from './payment-reactions.js';
import { processOperations } from './processes.js';
import { seedWorkflowDemo } from './seed.js';
import { timerJobs, timerOperations } from './timers.js';
import { transitionOperations } from './transitions.js';
import { workflowState, type WorkflowOptions } from './workflow-state.js';

export type { WorkflowOptions } from './workflow-state.js';

/**
 * The workflow module with its own state (clock, caches). Each call makes a new instance, so two
 * runtimes in one test process share nothing; tests pass a clock they move.
 */
export function workflowModuleWith(options: WorkflowOptions = {}) {
  const state = workflowState(options);
  return defineModule({
    name: 'workflow',
    summary: 'Workflow definitions, processes, assignment, SLA timers and the employee inbox',
    dependsOn: ['identity', 'reference'],
    migrations: workflowMigrations,
    events: {
      publishes: ['workflow.definition.created', 'workflow.process.started', 'workflow.process.transitioned', 'workflow.process.assigned', 'workflow.sla.breached'],
      consumers: {
        // Paying a record's fee moves it on (actions declared `on: { event: 'billing.payment.completed' }`).
        paymentReactions: paymentReactions(state),
      },
      listeners: {
        // Every process drops what a change made stale, whichever process made it.
        dropStaleLookups: {
          events: ['workflow.definition.created', 'reference.masterdata.changed', 'reference.boundary.changed', 'identity.employee.assigned'],
          handler(event) {
            if (event.name === 'workflow.definition.created') state.visible.clear();
            else if (event.name === 'reference.masterdata.changed' && event.payload.schema === HOLIDAY_SCHEMA) state.holidays.clear();
            else if (event.name === 'reference.boundary.changed') state.boundaryPaths.clear();
            else if (event.name === 'identity.employee.assigned') state.jurisdictions.clear();
          },
        },
      },
    },
    operations: {
      ...definitionOperations(state),
      ...processOperations(state),
      ...transitionOperations(state),
      ...claimOperations(state),
      ...inboxOperations(state),
      ...timerOperations(state),
      ...figureOperations(state),
    },
    jobs: options.scheduledSweep === false ? {} : timerJobs(state),
    // No routes of its own: the hook keeps the runtime, whose system contexts read holidays,
    // boundaries and staff whatever the caller's own rights.
    routes(_app, runtime) {
      state.runtime = runtime;
    },
    seedDemo: (ctx) => seedWorkflowDemo(ctx),
  });
}

/** Workflow definitions, processes, SLA and the inbox (see README.md). */
export const workflowModule = workflowModuleWith();
