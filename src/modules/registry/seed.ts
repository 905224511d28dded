import { isSevaError, type OperationContext } from '../../kernel/index.js';
import { BIRTH_NUMBER_FORMAT, BIRTHS, PERSONS } from './demo-registries.js';

const TENANT = 'in';

/** The demo registries and a few records; a second `seva seed --demo` leaves them as they are. */
export async function seedRegistryDemo(ctx: OperationContext): Promise<void> {
  try {
    await ctx.call('reference', 'createIdFormat', { tenantId: TENANT, ...BIRTH_NUMBER_FORMAT, timeZone: 'Asia/Kolkata' });
  } catch (err) {
    if (!(isSevaError(err) && err.status === 409)) throw err;
  }
  for (const registry of [PERSONS, BIRTHS]) {
    try {
      await ctx.call('registry', 'defineRegistry', { tenantId: TENANT, ...registry });
    } catch (err) {
      if (isSevaError(err) && err.status === 409) return;
      throw err;
    }
  }
  const persons = [
    { name: 'Mohammed Abdul', dob: '1987-03-14', gender: 'male', nationalId: '234567890123', mobile: '9876543221', district: 'Bengaluru Urban' },
    { name: 'Asha Rao', dob: '1992-11-02', gender: 'female', nationalId: '345678901234', mobile: '9812345678', district: 'Mysuru' },
    { name: 'Ravi Kumar', dob: '1979-06-30', gender: 'male', nationalId: '456789012345', district: 'Bengaluru Urban' },
    { name: 'Lakshmi Devi', dob: '2001-01-19', gender: 'female', mobile: '9900112233', district: 'Mysuru' },
  ];
  await ctx.call('registry', 'importRecords', { tenantId: TENANT, registry: PERSONS.code, format: 'json', content: JSON.stringify(persons) });
  await ctx.call('registry', 'createRecord', { tenantId: TENANT, registry: BIRTHS.code, data: { childName: 'Priya Sharma', dob: '2026-10-01', placeOfBirth: 'Victoria Hospital', motherName: 'Sunita Sharma', motherMobile: '9845012345' } });
  // A second declaration of the same birth: it lands in the duplicate review queue.
  await ctx.call('registry', 'createRecord', { tenantId: TENANT, registry: BIRTHS.code, data: { childName: 'Priya Sharmaa', dob: '2026-10-03', placeOfBirth: 'Victoria Hospital', motherName: 'Sunita Sharma' } });
}
