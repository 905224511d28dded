import type { OperationContext } from '../../kernel/index.js';
import type { Channel } from './channels.js';

/** What identity tells about a user, for reaching them (its `listContacts` operation). */
export interface Contact {
  id: string;
  tenantId: string;
  locale: string | null;
  mobile: string | null;
  email: string | null;
}

/** Contacts by id or by role (optionally within a boundary), through identity's public operation. */
export async function findContacts(ctx: OperationContext, query: { tenant: string; userIds?: string[]; role?: string; boundary?: string }): Promise<Contact[]> {
  const answer = await ctx.call<{ items: Contact[] }>('identity', 'listContacts', query);
  return answer.items;
}

/** The address of a user on a channel; undefined when they have none there. */
export function addressOf(contact: Contact, ch: Channel): string | undefined {
  if (ch === 'inapp') return contact.id;
  return (ch === 'email' ? contact.email : contact.mobile) ?? undefined;
}
