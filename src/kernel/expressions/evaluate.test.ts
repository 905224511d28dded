import { describe, expect, it } from 'vitest';
import { conditionHolds, evaluateExpression, expressionProblems, isTruthy } from './evaluate.js';

describe('expressions (JSON Logic with Seva extensions)', () => {
  it('evaluates JSON Logic over data, with dotted variables', () => {
    expect(evaluateExpression({ '>=': [{ var: 'fee.amount' }, 100] }, { fee: { amount: 150 } })).toBe(true);
    expect(evaluateExpression({ if: [{ '==': [{ var: 'category' }, 'FOOD'] }, 'health', 'none'] }, { category: 'FOOD' })).toBe('health');
    expect(evaluateExpression({ in: ['x', { var: 'tags' }] }, { tags: ['x', 'y'] })).toBe(true);
  });

  it('adds ages, day counts, rounding to a step and lookups in passed-in data', () => {
    expect(evaluateExpression({ ageInYears: [{ var: 'dob' }, '2026-05-01'] }, { dob: '2008-05-01' })).toBe(18);
    expect(evaluateExpression({ ageInYears: [{ var: 'dob' }, '2026-04-30'] }, { dob: '2008-05-01' })).toBe(17);
    expect(evaluateExpression({ daysBetween: ['2026-01-01', '2026-01-31'] }, {})).toBe(30);
    expect(evaluateExpression({ roundTo: [1_249, 100] }, {})).toBe(1_200);
    const fees = { RETAIL: { amount: 500 }, FOOD: { amount: 1500 } };
    expect(evaluateExpression({ lookup: [{ var: 'fees' }, { var: 'type' }, 'amount'] }, { fees, type: 'FOOD' })).toBe(1500);
    expect(evaluateExpression({ lookup: [{ var: 'fees' }, 'NONE', 'amount'] }, { fees })).toBeNull();
  });

  it('reports unknown operators and malformed operations with their paths', () => {
    expect(expressionProblems({ and: [{ '==': [1, 1] }, { bogus: [1] }] }, 'guard')).toEqual([{ path: 'guard.and.1', message: 'unknown operator "bogus"' }]);
    expect(expressionProblems({ '==': [1, 1], '!=': [1, 2] })[0]!.message).toMatch(/exactly one operator/);
    expect(expressionProblems({ throw: 'x' })).toHaveLength(1);
    expect(expressionProblems({ '>': [{ var: 'a' }, 1] })).toEqual([]);
    expect(() => evaluateExpression({ bogus: 1 }, {})).toThrow(/unknown operator/);
  });

  it('uses JSON Logic truthiness for conditions; an absent condition holds', () => {
    expect(isTruthy([])).toBe(false);
    expect(isTruthy('')).toBe(false);
    expect(isTruthy([0])).toBe(true);
    expect(conditionHolds(undefined, {})).toBe(true);
    expect(conditionHolds({ var: 'missing' }, {})).toBe(false);
  });
});
