/** Every permission the billing module checks (see README.md). */
export const P = {
  configManage: 'billing.config.manage',
  configRead: 'billing.config.read',
  demandCreate: 'billing.demand.create',
  demandRead: 'billing.demand.read',
  demandAdjust: 'billing.demand.adjust',
  demandCancel: 'billing.demand.cancel',
  billGenerate: 'billing.bill.generate',
  billRead: 'billing.bill.read',
  billBatch: 'billing.bill.batch',
  collect: 'billing.payment.collect',
  payOnline: 'billing.payment.online',
  paymentRead: 'billing.payment.read',
  paymentCancel: 'billing.payment.cancel',
  refund: 'billing.payment.refund',
  dayClose: 'billing.dayclose',
  reconcile: 'billing.reconcile.run',
} as const;
