import type { z } from 'zod';
import type { FieldProblem } from './seva-error.js';

/** Turns zod issues into `{ path, message }` entries, prefixed with the request part. */
export function zodProblems(issues: readonly z.core.$ZodIssue[], prefix?: string): FieldProblem[] {
  return issues.map((issue) => {
    const parts = [prefix, ...issue.path.map(String)].filter((p): p is string => !!p);
    return { path: parts.join('.') || '(root)', message: issue.message };
  });
}
