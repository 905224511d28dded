/** Every permission the workflow module checks (see README.md). */
export const P = {
  defineManage: 'workflow.definition.manage',
  defineRead: 'workflow.definition.read',
  start: 'workflow.process.start',
  read: 'workflow.process.read',
  transition: 'workflow.transition',
  claim: 'workflow.process.claim',
  reassign: 'workflow.process.reassign',
  inbox: 'workflow.inbox.read',
  slaRead: 'workflow.sla.read',
  timersRun: 'workflow.timers.run',
} as const;

/** The pseudo-role of actions only timers take (auto-close). */
export const SYSTEM_ROLE = 'SYSTEM';
