/**
 * The demo registries (also the test and bench fixtures): a population register in which the
 * national id and mobile are PII, and a birth register with OpenCRVS-like duplicate rules.
 */
export const PERSONS = {
  code: 'persons',
  name: 'Population register',
  definition: {
    schema: {
      type: 'object',
      required: ['name', 'dob'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 200 },
        dob: { type: 'string', format: 'date' },
        gender: { enum: ['female', 'male', 'other'] },
        nationalId: { type: 'string', pattern: '^[0-9]{12}$' },
        mobile: { type: 'string', pattern: '^[6-9][0-9]{9}$' },
        district: { type: 'string', maxLength: 100 },
        citizenId: { type: 'string', maxLength: 64 },
      },
    },
    fields: {
      name: { searchable: true },
      dob: { searchable: true },
      district: { searchable: true },
      nationalId: { pii: true, searchable: true, unique: true, visibility: { roles: { CLERK: 'masked', REGISTRAR: 'plain' } } },
      mobile: { pii: true, searchable: true, visibility: { default: 'hidden', roles: { REGISTRAR: 'plain', CLERK: 'masked' } } },
    },
    ownerField: 'citizenId',
    dedup: {
      threshold: 0.8,
      onCreate: true,
      rules: [
        { name: 'same national id', all: [{ field: 'nationalId', match: 'exact' }] },
        { name: 'similar name, same birth date', all: [{ field: 'name', match: 'fuzzy', min: 0.5 }, { field: 'dob', match: 'exact' }] },
      ],
    },
  },
} as const;

/** The reference ID format birth registration numbers come from (defined by the seed). */
export const BIRTH_NUMBER_FORMAT = { code: 'births.registration', template: 'BR-[fy:yyyy-yy]-[seq:6]' } as const;

export const BIRTHS = {
  code: 'births',
  name: 'Birth register',
  definition: {
    schema: {
      type: 'object',
      required: ['childName', 'dob', 'motherName'],
      properties: {
        registrationNo: { type: 'string', maxLength: 40 },
        childName: { type: 'string', minLength: 1, maxLength: 200 },
        dob: { type: 'string', format: 'date' },
        placeOfBirth: { type: 'string', maxLength: 200 },
        motherName: { type: 'string', minLength: 1, maxLength: 200 },
        fatherName: { type: 'string', maxLength: 200 },
        motherMobile: { type: 'string', pattern: '^[6-9][0-9]{9}$' },
      },
    },
    fields: {
      registrationNo: { searchable: true, unique: true },
      childName: { searchable: true },
      motherName: { searchable: true },
      dob: { searchable: true },
      motherMobile: { pii: true, searchable: true },
    },
    numbering: { field: 'registrationNo', format: BIRTH_NUMBER_FORMAT.code },
    dedup: {
      // A rule's score is the mean of its conditions' scores; dates 19 days apart score 0.39.
      threshold: 0.6,
      onCreate: true,
      rules: [
        {
          name: 'same child, born within 30 days, same mother',
          all: [
            { field: 'childName', match: 'fuzzy', min: 0.8 },
            { field: 'dob', match: 'withinDays', days: 30 },
            { field: 'motherName', match: 'fuzzy', min: 0.5 },
          ],
        },
      ],
    },
  },
} as const;
