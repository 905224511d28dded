/** The two example workflows the demo loads (tenant `in`), also used as test fixtures. */
export const TRADE_LICENCE = {
  code: 'TL',
  name: 'Trade licence',
  sla: 'P15D',
  calendar: { kind: 'business', timeZone: 'Asia/Kolkata' },
  states: [
    { name: 'APPLIED', start: true, sla: 'P2D', assignment: { role: 'COUNTER_EMPLOYEE', strategy: 'round-robin' }, escalation: [{ role: 'APPROVER' }] },
    { name: 'PENDING_CITIZEN', slaPaused: true, timers: [{ after: 'P15D', action: 'AUTO_CLOSE' }] },
    { name: 'PENDING_INSPECTION', sla: 'P3D', assignment: { role: 'FIELD_INSPECTOR', strategy: 'least-loaded' }, escalation: [{ designation: 'SUPERINTENDENT' }] },
    { name: 'PENDING_APPROVAL', sla: 'P2D', assignment: { role: 'APPROVER', strategy: 'explicit' } },
    { name: 'PENDING_PAYMENT', slaPaused: true },
    { name: 'ISSUED', terminal: true },
    { name: 'REJECTED', terminal: true },
    { name: 'CLOSED', terminal: true },
  ],
  actions: [
    { name: 'VERIFY', from: ['APPLIED'], to: 'PENDING_INSPECTION', roles: ['COUNTER_EMPLOYEE'], requiredDocuments: ['OWNER_ID'] },
    { name: 'SEND_BACK', from: ['APPLIED'], to: 'PENDING_CITIZEN', roles: ['COUNTER_EMPLOYEE'] },
    { name: 'RESUBMIT', from: ['PENDING_CITIZEN'], to: 'APPLIED', roles: ['CITIZEN'] },
    { name: 'AUTO_CLOSE', from: ['PENDING_CITIZEN'], to: 'CLOSED', roles: ['SYSTEM'] },
    { name: 'INSPECT', from: ['PENDING_INSPECTION'], to: 'PENDING_APPROVAL', roles: ['FIELD_INSPECTOR'], requiredFields: ['inspection.result'] },
    { name: 'APPROVE', from: ['PENDING_APPROVAL'], to: 'PENDING_PAYMENT', roles: ['APPROVER'], guard: { '==': [{ var: 'inspection.result' }, 'PASS'] } },
    { name: 'REJECT', from: ['APPLIED'], to: 'REJECTED', roles: ['COUNTER_EMPLOYEE'], requiredFields: ['rejectionReason'] },
    { name: 'REINSPECT', from: ['PENDING_APPROVAL'], to: 'PENDING_INSPECTION', roles: ['APPROVER'] },
    { name: 'DECLINE', from: ['PENDING_APPROVAL'], to: 'REJECTED', roles: ['APPROVER'], requiredFields: ['rejectionReason'] },
    // Paid at the counter or online through billing (same service code, consumer code = business id): the platform moves it on.
    { name: 'PAY', from: ['PENDING_PAYMENT'], to: 'ISSUED', roles: ['CASHIER', 'SYSTEM'], on: { event: 'billing.payment.completed', when: { '==': [{ var: 'outstanding' }, 0] } } },
  ],
};

export const GRIEVANCE = {
  code: 'PGR',
  name: 'Public grievance',
  sla: 'P7D',
  calendar: { kind: 'elapsed', timeZone: 'Asia/Kolkata' },
  states: [
    { name: 'FILED', start: true, sla: 'P1D', assignment: { role: 'GRO', strategy: 'least-loaded' }, escalation: [{ role: 'APPROVER' }, { designation: 'SUPERINTENDENT' }] },
    { name: 'ASSIGNED', sla: 'P3D', assignment: { role: 'FIELD_INSPECTOR', strategy: 'explicit' }, escalation: [{ role: 'GRO' }] },
    { name: 'RESOLVED', slaPaused: true, timers: [{ after: 'P7D', action: 'AUTO_CLOSE' }] },
    { name: 'CLOSED', terminal: true },
    { name: 'REJECTED', terminal: true },
  ],
  actions: [
    { name: 'ASSIGN', from: ['FILED'], to: 'ASSIGNED', roles: ['GRO'] },
    { name: 'REJECT', from: ['FILED'], to: 'REJECTED', roles: ['GRO'], requiredFields: ['rejectionReason'] },
    { name: 'RESOLVE', from: ['ASSIGNED'], to: 'RESOLVED', roles: ['FIELD_INSPECTOR'] },
    { name: 'RETURN', from: ['ASSIGNED'], to: 'FILED', roles: ['FIELD_INSPECTOR', 'GRO'] },
    { name: 'RATE', from: ['RESOLVED'], to: 'CLOSED', roles: ['CITIZEN'], requiredFields: ['rating'], guard: { and: [{ '>=': [{ var: 'rating' }, 1] }, { '<=': [{ var: 'rating' }, 5] }] } },
    { name: 'REOPEN', from: ['RESOLVED'], to: 'FILED', roles: ['CITIZEN'] },
    { name: 'AUTO_CLOSE', from: ['RESOLVED'], to: 'CLOSED', roles: ['SYSTEM'] },
  ],
};

/** National holidays of the demo calendar (tenant `in`); cities add their own. */
export const DEMO_HOLIDAYS = [
  { date: '2026-01-26', name: 'Republic Day' },
  { date: '2026-08-15', name: 'Independence Day' },
  { date: '2026-10-02', name: 'Gandhi Jayanti' },
];

export const HOLIDAY_DEFINITION = {
  type: 'object',
  required: ['date', 'name'],
  additionalProperties: false,
  properties: { date: { type: 'string', format: 'date' }, name: { type: 'string', minLength: 1 } },
};
