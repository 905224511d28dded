/** Demo billing data for the trade licence (TL) in Bengaluru: tax heads and a fee with slabs by trade area. */
export const DEMO_TENANT = 'in.ka.bengaluru';
export const DEMO_SERVICE = 'TL';

export const DEMO_TAX_HEADS = [
  { code: 'TL_FEE', name: 'Trade licence fee', category: 'fee', glCode: '1402-001' },
  { code: 'TL_ADHOC_TAX', name: 'Adhoc cess', category: 'tax', glCode: '1402-002' },
  { code: 'TL_LATE_PENALTY', name: 'Late payment penalty', category: 'penalty', glCode: '1402-090' },
  { code: 'TL_EARLY_REBATE', name: 'Early payment rebate', category: 'rebate', glCode: '1402-095' },
] as const;

/** Amounts in paise: ₹500 up to 100 sq ft, ₹1,500 up to 500, ₹4,000 up to 2,000, ₹10,000 above; cess ₹2 per sq ft (₹100–₹2,000). */
export const DEMO_FEE_RULE = {
  currency: 'INR',
  lines: [
    {
      kind: 'slab',
      taxHead: 'TL_FEE',
      field: 'tradeArea',
      slabs: [
        { upTo: 100, amount: 50_000 },
        { upTo: 500, amount: 150_000 },
        { upTo: 2_000, amount: 400_000 },
        { upTo: null, amount: 1_000_000 },
      ],
    },
    { kind: 'perUnit', taxHead: 'TL_ADHOC_TAX', field: 'tradeArea', rate: 200, minimum: 10_000, maximum: 200_000 },
  ],
  rebate: { taxHead: 'TL_EARLY_REBATE', basisPoints: 500, daysBeforeDue: 30 },
  penalty: { taxHead: 'TL_LATE_PENALTY', graceDays: 0, flat: 0, basisPointsPerMonth: 200, maxBasisPoints: 2_400 },
  billValidityHours: 24,
  allowPartial: false,
  minimumPartial: 0,
};
