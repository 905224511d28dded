import { isSevaError, type OperationContext } from '../../kernel/index.js';
import { rectangle } from './geometry.js';

/** Runs a demo step; one that exists already (a second `seva seed --demo`) is left as it is. */
async function once(ctx: OperationContext, operation: string, input: object): Promise<void> {
  try {
    await ctx.call('reference', operation, input);
  } catch (err) {
    if (!(isSevaError(err) && err.status === 409)) throw err;
  }
}

const MESSAGES: Record<string, Record<string, string>> = {
  en: {
    'app.title': 'Seva',
    'action.submit': 'Submit',
    'action.cancel': 'Cancel',
    'action.signIn': 'Sign in',
    'nav.home': 'Home',
    'nav.applications': 'My applications',
    'status.pending': 'Pending',
    'status.approved': 'Approved',
  },
  hi: {
    'app.title': 'सेवा',
    'action.submit': 'जमा करें',
    'action.cancel': 'रद्द करें',
    'action.signIn': 'साइन इन करें',
    'nav.home': 'होम',
    'nav.applications': 'मेरे आवेदन',
    'status.pending': 'लंबित',
    'status.approved': 'स्वीकृत',
  },
  ar: {
    'app.title': 'سيفا',
    'action.submit': 'إرسال',
    'action.cancel': 'إلغاء',
    'action.signIn': 'تسجيل الدخول',
    'nav.home': 'الرئيسية',
    'nav.applications': 'طلباتي',
    'status.pending': 'قيد الانتظار',
    'status.approved': 'تمت الموافقة',
  },
};

const TRADE_TYPE = {
  type: 'object',
  required: ['name', 'fee'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    category: { enum: ['RETAIL', 'FOOD', 'INDUSTRY'] },
    fee: {
      type: 'object',
      required: ['amount', 'currency'],
      additionalProperties: false,
      properties: { amount: { type: 'integer', minimum: 0, description: 'minor units' }, currency: { type: 'string', pattern: '^[A-Z]{3}$' } },
    },
  },
};

const COMPLAINT_TYPE = {
  type: 'object',
  required: ['name', 'department', 'slaHours'],
  properties: { name: { type: 'string' }, department: { type: 'string' }, slaHours: { type: 'integer', minimum: 1 } },
};

const names = (en: string, kn: string, hi: string) => ({ en, kn, hi });

/** Demo reference data for the tenants identity seeds (`in`, `in.ka`, `in.ka.bengaluru`) and `in.ka.mysuru`. */
export async function seedReferenceDemo(ctx: OperationContext): Promise<void> {
  for (const [locale, texts] of Object.entries(MESSAGES)) {
    await ctx.call('reference', 'upsertMessages', { tenantId: 'in', locale, messages: Object.entries(texts).map(([code, message]) => ({ module: 'core', code, message })) });
  }
  await ctx.call('reference', 'upsertMessages', { tenantId: 'in.ka.bengaluru', locale: 'en', messages: [{ module: 'core', code: 'app.title', message: 'Seva Bengaluru' }] });
  await ctx.call('reference', 'upsertMessages', { tenantId: 'in.ka.bengaluru', locale: 'hi', messages: [{ module: 'core', code: 'app.title', message: 'सेवा बेंगलुरु' }] });

  await once(ctx, 'defineSchema', { tenantId: 'in', code: 'tl.tradeType', description: 'Trade types and their licence fee', definition: TRADE_TYPE });
  await once(ctx, 'defineSchema', { tenantId: 'in', code: 'pgr.complaintType', description: 'Grievance categories and their SLA', definition: COMPLAINT_TYPE });
  const trade = (tenantId: string, key: string, name: string, category: string, amount: number) =>
    once(ctx, 'createRecord', { tenantId, schema: 'tl.tradeType', key, data: { name, category, fee: { amount, currency: 'INR' } } });
  await trade('in', 'RETAIL.SHOP', 'Retail shop', 'RETAIL', 50_000);
  await trade('in', 'FOOD.RESTAURANT', 'Restaurant', 'FOOD', 150_000);
  await trade('in', 'INDUSTRY.SMALL', 'Small-scale industry', 'INDUSTRY', 300_000);
  await trade('in.ka', 'RETAIL.SHOP', 'Retail shop', 'RETAIL', 40_000);
  await trade('in.ka.bengaluru', 'FOOD.RESTAURANT', 'Restaurant', 'FOOD', 200_000);
  for (const [key, name, department, slaHours] of [
    ['STREETLIGHT', 'Streetlight not working', 'ELECTRICAL', 48],
    ['GARBAGE', 'Garbage not collected', 'SANITATION', 24],
    ['WATER', 'No water supply', 'WATER', 24],
  ] as const) {
    await once(ctx, 'createRecord', { tenantId: 'in', schema: 'pgr.complaintType', key, data: { name, department, slaHours } });
  }

  await once(ctx, 'createHierarchy', { tenantId: 'in.ka', code: 'ADMIN', name: 'Administrative', levels: ['state', 'district', 'city', 'ward', 'locality'] });
  const boundary = (tenantId: string, code: string, level: string, parent: string | undefined, n: object, box: [number, number, number, number]) =>
    once(ctx, 'createBoundary', { tenantId, hierarchy: 'ADMIN', code, level, ...(parent ? { parent } : {}), names: n, geometry: rectangle(...box) });
  await boundary('in.ka', 'KA', 'state', undefined, names('Karnataka', 'ಕರ್ನಾಟಕ', 'कर्नाटक'), [74.0, 11.5, 78.6, 18.5]);
  await boundary('in.ka', 'BLR-URBAN', 'district', 'KA', names('Bengaluru Urban', 'ಬೆಂಗಳೂರು ನಗರ', 'बेंगलुरु शहरी'), [77.3, 12.7, 77.9, 13.2]);
  await boundary('in.ka', 'MYSURU', 'district', 'KA', names('Mysuru', 'ಮೈಸೂರು', 'मैसूर'), [75.9, 11.6, 77.0, 12.7]);
  await boundary('in.ka', 'BLR', 'city', 'BLR-URBAN', names('Bengaluru', 'ಬೆಂಗಳೂರು', 'बेंगलुरु'), [77.45, 12.85, 77.78, 13.1]);
  await boundary('in.ka', 'MYS', 'city', 'MYSURU', names('Mysuru City', 'ಮೈಸೂರು ನಗರ', 'मैसूर शहर'), [76.58, 12.25, 76.72, 12.36]);
  await boundary('in.ka.bengaluru', 'BLR.W001', 'ward', 'BLR', names('Ward 1 (West)', 'ವಾರ್ಡ್ 1', 'वार्ड 1'), [77.45, 12.85, 77.6, 13.1]);
  await boundary('in.ka.bengaluru', 'BLR.W002', 'ward', 'BLR', names('Ward 2 (East)', 'ವಾರ್ಡ್ 2', 'वार्ड 2'), [77.6, 12.85, 77.78, 13.1]);
  await boundary('in.ka.bengaluru', 'BLR.W001.L01', 'locality', 'BLR.W001', names('Malleswaram', 'ಮಲ್ಲೇಶ್ವರಂ', 'मल्लेश्वरम'), [77.5, 12.95, 77.58, 13.02]);
  await boundary('in.ka.mysuru', 'MYS.W001', 'ward', 'MYS', names('Ward 1 (North)', 'ವಾರ್ಡ್ 1', 'वार्ड 1'), [76.58, 12.3, 76.72, 12.36]);
  await boundary('in.ka.mysuru', 'MYS.W002', 'ward', 'MYS', names('Ward 2 (South)', 'ವಾರ್ಡ್ 2', 'वार्ड 2'), [76.58, 12.25, 76.72, 12.3]);

  const format = (code: string, template: string) => once(ctx, 'createIdFormat', { tenantId: 'in', code, template, timeZone: 'Asia/Kolkata' });
  await format('tl.application', 'TL-APP-[city]-[fy:yyyy-yy]-[seq:6]');
  await format('tl.licence', 'TL-[city]-[fy:yyyy-yy]-[seq:6]');
  await format('pgr.complaint', 'PGR-[city]-[cy:yyyy-MM]-[seq:6]');
  await format('billing.receipt', 'RCPT-[city]-[fy:yy-yy]-[seq:8]');
  await format('birth.registration', 'BR-[city]-[cy:yyyy]-[seq:6]');
}
