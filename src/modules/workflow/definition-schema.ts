import { z } from '../../kernel/index.js';

/**
 * The shape of a workflow definition (the data an administrator loads). Shape errors are 400
 * `VALIDATION_FAILED`; the graph and meaning are checked by `definitionProblems` (422 with the list).
 */
export const NAME = /^[A-Z][A-Z0-9_]{0,60}$/;
const name = z.string().regex(NAME, 'upper case letters, digits and _, such as PENDING_APPROVAL');
const roleCode = z.string().regex(/^[A-Z][A-Z0-9_]{1,40}$/, 'a role code such as APPROVER');
export const SERVICE_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,60}$/;
export const serviceCode = z.string().regex(SERVICE_CODE, 'letters, digits and _ . -, such as TL or PGR');

/** Events an action can be taken on (see payment-reactions.ts). */
export const REACTS_TO = ['billing.payment.completed'] as const;

const stateDef = z.object({
  name,
  start: z.boolean().default(false),
  terminal: z.boolean().default(false),
  /** Waiting on the citizen: the state has no SLA and the process SLA stops while here. */
  slaPaused: z.boolean().default(false),
  sla: z.string().max(40).optional().describe('ISO 8601 duration (P2D, PT8H); no months or years'),
  assignment: z
    .object({
      role: roleCode,
      strategy: z.enum(['round-robin', 'least-loaded', 'explicit']),
    })
    .optional()
    .describe('Who is given the record on entering: an employee with the role whose jurisdiction covers its boundary'),
  escalation: z
    .array(z.object({ role: roleCode.optional(), designation: roleCode.optional() }))
    .max(5)
    .default([])
    .describe('Levels, in order: each SLA breach in this state hands the record to the next one'),
  timers: z
    .array(z.object({ after: z.string().max(40), action: name }))
    .max(5)
    .default([])
    .describe('Automatic actions after a time in the state (auto-close after N days of citizen inactivity)'),
});

const actionDef = z.object({
  name,
  from: z.array(name).max(50).default([]),
  to: name,
  roles: z.array(roleCode).max(50).default([]).describe('Roles that may take it; SYSTEM for timers only'),
  requiredFields: z.array(z.string().min(1).max(200)).max(50).default([]).describe('Dotted paths that must have a value in the record after the action'),
  requiredDocuments: z.array(z.string().min(1).max(100)).max(50).default([]).describe('Document types that must be attached (now or earlier)'),
  guard: z.unknown().optional().describe('JSON Logic over the record; the action is refused when it is falsy'),
  on: z
    .object({
      event: z.enum(REACTS_TO),
      when: z.unknown().optional().describe('JSON Logic over the event payload (a payment: amount, outstanding, demandStatus, mode, receiptNo); absent: always'),
    })
    .optional()
    .describe(
      'Taken by the platform when the event arrives for the record: a payment of the same tenant whose service and consumer code are the process service and business id',
    ),
});

export const definitionBody = z.object({
  code: serviceCode,
  name: z.string().trim().min(1).max(200),
  sla: z.string().max(40).optional().describe('Whole-process SLA, ISO 8601 duration'),
  calendar: z
    .object({ kind: z.enum(['business', 'elapsed']).default('business'), timeZone: z.string().max(60).default('UTC') })
    .default({ kind: 'business', timeZone: 'UTC' }),
  boundaryHierarchy: z.string().max(40).default('ADMIN'),
  states: z.array(stateDef).min(1).max(100),
  actions: z.array(actionDef).max(300),
});

export type DefinitionBody = z.output<typeof definitionBody>;
export type StateDef = DefinitionBody['states'][number];
export type ActionDef = DefinitionBody['actions'][number];

/** A stored definition: its body plus where and which version it is. */
export interface Definition {
  id: string;
  tenantId: string;
  code: string;
  version: number;
  body: DefinitionBody;
  states: Map<string, StateDef>;
  actionsFrom: Map<string, ActionDef[]>;
}

export function compile(id: string, tenantId: string, version: number, body: DefinitionBody): Definition {
  const states = new Map(body.states.map((s) => [s.name, s]));
  const actionsFrom = new Map<string, ActionDef[]>();
  for (const action of body.actions) for (const from of action.from) actionsFrom.set(from, [...(actionsFrom.get(from) ?? []), action]);
  return { id, tenantId, code: body.code, version, body, states, actionsFrom };
}
