/** `9876543221` → `98******21`: enough to recognise a number, not to use it. */
export function maskMobile(mobile: string): string {
  return mobile.length <= 4 ? '*'.repeat(mobile.length) : `${mobile.slice(0, 2)}${'*'.repeat(mobile.length - 4)}${mobile.slice(-2)}`;
}

/** `asha.rao@example.in` → `a*******@example.in`. */
export function maskEmail(email: string): string {
  const at = email.indexOf('@');
  if (at <= 0) return '*'.repeat(email.length);
  return `${email[0]}${'*'.repeat(at - 1)}${email.slice(at)}`;
}

/** Blind indexes match exact values, so the value is normalised the same way on write and lookup. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}
