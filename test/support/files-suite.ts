import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { InjectOptions } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor, type SevaConfig } from '../../src/kernel/index.js';
import { expireFiles } from '../../src/modules/files/retention.js';
import { filesModule } from '../../src/modules/files/index.js';
import { identityModule } from '../../src/modules/identity/index.js';
import { startTestRuntime, type TestRuntime } from './test-runtime.js';

/** What the shared files suite needs from one store: its settings, and a look at its objects. */
export interface StoreUnderTest {
  name: string;
  config(): Partial<SevaConfig>;
  /** Every stored key, unfinished uploads included (temporary files, multipart uploads). */
  keys(): Promise<string[]>;
  /** Replaces a stored object's bytes behind the module's back. */
  overwrite(key: string, bytes: Buffer): Promise<void>;
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A PDF header and enough body to be more than one read chunk; random so every file differs. */
export function pdf(bytes = 300_000): Buffer {
  return Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), randomBytes(bytes), Buffer.from('\n%%EOF\n')]);
}

/** A Windows executable's headers (MZ, PE): what a renamed .exe looks like inside. */
export function exe(): Buffer {
  const bytes = randomBytes(64 * 1024);
  bytes.write('MZ', 0, 'latin1');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('PE\0\0', 0x80, 'latin1');
  return bytes;
}

export const png = () => sharp({ create: { width: 800, height: 600, channels: 3, background: '#c0392b' } }).png().toBuffer();

const PASSWORD = 'Secret2025pass!x';

interface People {
  citizenA: string;
  citizenB: string;
  clerk: string;
  admin: string;
  otherTenantAdmin: string;
}

/** Signs people in the way clients do: password grants for staff, OTP for citizens. */
async function signIn(t: TestRuntime): Promise<People> {
  const platform = await t.as({ kind: 'system', permissions: ['*'] });
  const post = async (url: string, payload: object, headers = platform) => {
    const res = await t.runtime.http.inject({ method: 'POST', url, payload, headers });
    expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(300);
    return res.json();
  };
  const staff = [
    { code: 'ADMIN', permissions: ['files.*'] },
    { code: 'CLERK', permissions: ['files.file.upload', 'files.file.read', 'files.any.read', 'files.file.attach'] },
    { code: 'CITIZEN', permissions: ['identity.session.logout', 'files.file.upload', 'files.file.read', 'files.file.delete'] },
  ];
  for (const tenant of ['ta', 'tb']) {
    await post('/api/identity/v1/tenants', { code: tenant, name: tenant });
    for (const role of staff) await post('/api/identity/v1/roles', { tenantId: tenant, name: role.code, ...role });
    for (const role of ['ADMIN', 'CLERK']) {
      await post('/api/identity/v1/employees', { tenantId: tenant, username: role.toLowerCase(), name: role, password: PASSWORD, roles: [{ role, tenant }] });
    }
  }
  const password = async (tenant: string, username: string) =>
    (await post('/api/identity/v1/oauth/token', { grant_type: 'password', tenant, username, password: PASSWORD }, {})).access_token as string;
  const otp = async (mobile: string) => {
    await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/otp', payload: { tenant: 'ta', mobile } });
    const outbox = (await t.runtime.http.inject({ url: '/api/identity/v1/dev-outbox', headers: platform })).json();
    const code = /\b(\d{6})\b/.exec(outbox.items[0].body)![1];
    return (await post('/api/identity/v1/oauth/token', { grant_type: 'otp', tenant: 'ta', mobile, otp: code }, {})).access_token as string;
  };
  return {
    citizenA: await otp('9999911111'),
    citizenB: await otp('9999922222'),
    clerk: await password('ta', 'clerk'),
    admin: await password('ta', 'admin'),
    otherTenantAdmin: await password('tb', 'admin'),
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Streams `total` bytes (a PDF header, then zeros made as they are sent) to an upload over a real
 * socket, and resolves when the answer arrives with how much had been sent by then.
 */
function streamUpload(baseUrl: string, token: string, total: number): Promise<{ status: number; body: any; sentWhenAnswered: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest(`${baseUrl}/api/files/v1/files?purpose=document&name=big.pdf`, {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/pdf' },
      // A socket of its own, closed once the answer is in (the body was never finished).
      agent: false,
    });
    req.on('response', (res) => {
      answered = true;
      const sentWhenAnswered = sent;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        req.socket?.destroy();
        req.destroy();
        resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()), sentWhenAnswered });
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024);
    const write = () => {
      while (!answered && sent < total) {
        const piece = sent === 0 ? Buffer.concat([Buffer.from('%PDF-1.7\n'), chunk]) : chunk;
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', write);
      }
      if (!answered) req.end();
    };
    write();
  });
}

/** The behaviour every store must show; each store's test file runs it once on its own runtime. */
export function describeFilesBehaviour(store: StoreUnderTest): void {
  let t: TestRuntime;
  let people: People;

  beforeAll(async () => {
    t = await startTestRuntime([identityModule, filesModule], { port: 0, ...store.config() }, true);
    people = await signIn(t);
  }, 120_000);
  afterAll(() => t?.close());

  const inject = (options: InjectOptions) => t.runtime.http.inject(options);
  const upload = (token: string, bytes: Buffer, query = 'purpose=identity-proof&name=passport.pdf', contentType = 'application/octet-stream') =>
    inject({ method: 'POST', url: `/api/files/v1/files?${query}`, headers: { ...bearer(token), 'content-type': contentType }, payload: bytes });
  const multipart = (token: string, bytes: Buffer, filename: string, query: string) => {
    const boundary = `----seva${randomBytes(8).toString('hex')}`;
    const payload = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${filename}"\r\ncontent-type: application/pdf\r\n\r\n`),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return inject({ method: 'POST', url: `/api/files/v1/files?${query}`, headers: { ...bearer(token), 'content-type': `multipart/form-data; boundary=${boundary}` }, payload });
  };
  const rowsOf = (id: string) => t.runtime.database.db.selectFrom('files.files' as any).selectAll().where('id', '=', id).execute();
  const fileCount = async () => Number((await t.runtime.database.db.selectFrom('files.files' as any).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  describe(`files on the ${store.name} store`, () => {
    it('round-trips a streamed upload: same bytes, same SHA-256, type from the bytes', async () => {
      const bytes = pdf();
      const res = await upload(people.citizenA, bytes);
      expect(res.statusCode, res.body).toBe(201);
      const file = res.json();
      expect(file).toMatchObject({ tenantId: 'ta', purpose: 'identity-proof', name: 'passport.pdf', contentType: 'application/pdf', size: bytes.length, sha256: sha256(bytes), thumbnail: false, record: null });
      expect(await store.keys()).toContain(`ta/${file.id}`);

      const down = await inject({ url: `/api/files/v1/files/${file.id}/content`, headers: bearer(people.citizenA) });
      expect(down.statusCode).toBe(200);
      expect(down.rawPayload.equals(bytes)).toBe(true);
      expect(sha256(down.rawPayload)).toBe(file.sha256);
      expect(down.headers).toMatchObject({ 'content-type': 'application/pdf', 'content-length': String(bytes.length), etag: `"${file.sha256}"` });
      expect(down.headers['repr-digest']).toBe(`sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`);
      expect((await inject({ url: `/api/files/v1/files/${file.id}`, headers: bearer(people.citizenA) })).json()).toEqual(file);

      // Larger than one 5 MiB part: on S3 this is a multipart upload.
      const large = pdf(6 * 1024 * 1024);
      const stored = (await upload(people.citizenA, large, 'purpose=document&name=large.pdf')).json();
      expect(stored).toMatchObject({ size: large.length, sha256: sha256(large) });
      const back = await inject({ url: `/api/files/v1/files/${stored.id}/content`, headers: bearer(people.citizenA) });
      expect(sha256(back.rawPayload)).toBe(sha256(large));
    });

    it('takes multipart uploads and makes a thumbnail of an image', async () => {
      const image = await png();
      const res = await multipart(people.citizenA, image, 'me.pdf', 'purpose=photo');
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ name: 'me.pdf', contentType: 'image/png', size: image.length, sha256: sha256(image), thumbnail: true });
      const thumb = await inject({ url: `/api/files/v1/files/${res.json().id}/thumbnail`, headers: bearer(people.citizenA) });
      expect(thumb.statusCode).toBe(200);
      expect(thumb.headers['content-type']).toBe('image/jpeg');
      const meta = await sharp(thumb.rawPayload).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 256, 192]);
    });

    it('refuses a renamed .exe sent as a .pdf, leaving no row and no bytes', async () => {
      const before = { rows: await fileCount(), keys: (await store.keys()).length };
      for (const res of [
        await upload(people.citizenA, exe(), 'purpose=identity-proof&name=passport.pdf', 'application/pdf'),
        await multipart(people.citizenA, exe(), 'passport.pdf', 'purpose=identity-proof'),
      ]) {
        expect(res.statusCode, res.body).toBe(415);
        expect(res.json()).toMatchObject({ code: 'FILES_CONTENT_TYPE_NOT_ALLOWED', detected: 'application/x-msdownload', allowed: ['application/pdf', 'image/jpeg', 'image/png'] });
      }
      // A PDF is fine as an identity proof but not as a photo.
      expect((await upload(people.citizenA, pdf(1000), 'purpose=photo')).json()).toMatchObject({ code: 'FILES_CONTENT_TYPE_NOT_ALLOWED', detected: 'application/pdf' });
      expect(await fileCount()).toBe(before.rows);
      expect((await store.keys()).length).toBe(before.keys);
    });

    it('refuses an oversized upload while it streams: 50 MB against a 1 MB limit', async () => {
      const limit = await inject({ method: 'PUT', url: '/api/files/v1/limits/ta', headers: bearer(people.admin), payload: { maxBytes: 1024 * 1024 } });
      expect(limit.json()).toEqual({ tenantId: 'ta', maxBytes: 1024 * 1024, source: 'tenant' });
      try {
        const before = { rows: await fileCount(), keys: await store.keys() };
        const total = 50 * 1024 * 1024;
        const res = await streamUpload(t.runtime.url, people.citizenA, total);
        expect(res.status).toBe(413);
        expect(res.body).toMatchObject({ code: 'FILES_TOO_LARGE', limit: 1024 * 1024 });
        // The answer came while the client was still sending: the server did not wait for (or keep) the body.
        expect(res.sentWhenAnswered).toBeLessThan(total / 2);
        expect(await fileCount()).toBe(before.rows);
        expect(await store.keys()).toEqual(before.keys);
        // Just under the limit still goes through.
        expect((await upload(people.citizenA, pdf(1024 * 1024 - 100))).statusCode).toBe(201);
      } finally {
        await inject({ method: 'PUT', url: '/api/files/v1/limits/ta', headers: bearer(people.admin), payload: { maxBytes: 10 * 1024 * 1024 } });
      }
    });

    it('answers 404 for another tenant’s file and for another citizen’s; staff of the tenant see it', async () => {
      const file = (await upload(people.citizenA, pdf(2000))).json();
      const routes = [
        { method: 'GET' as const, url: `/api/files/v1/files/${file.id}` },
        { method: 'GET' as const, url: `/api/files/v1/files/${file.id}/content` },
        { method: 'POST' as const, url: `/api/files/v1/files/${file.id}/download-url`, payload: {} },
        { method: 'POST' as const, url: `/api/files/v1/files/${file.id}/attach`, payload: { recordType: 'services.application', recordId: 'app_1' } },
        { method: 'DELETE' as const, url: `/api/files/v1/files/${file.id}` },
      ];
      for (const token of [people.otherTenantAdmin, people.citizenB]) {
        for (const route of routes) {
          const res = await inject({ ...route, headers: bearer(token) });
          // The citizen lacks files.file.attach: 403 before the file is looked up, which reveals nothing.
          if (token === people.citizenB && route.url.endsWith('/attach')) expect(res.statusCode).toBe(403);
          else expect(res.statusCode, `${route.method} ${route.url}`).toBe(404);
        }
      }
      const mine = (await inject({ url: '/api/files/v1/files', headers: bearer(people.citizenB) })).json();
      expect(mine.items.map((f: any) => f.id)).not.toContain(file.id);
      expect((await inject({ url: `/api/files/v1/files/${file.id}/content`, headers: bearer(people.clerk) })).statusCode).toBe(200);
      expect((await inject({ url: '/api/files/v1/files', headers: bearer(people.clerk) })).json().items.map((f: any) => f.id)).toContain(file.id);
      expect((await rowsOf(file.id))[0]).toMatchObject({ status: 'active', record_id: null });
    });

    it('serves a signed link until it expires; an expired or tampered link is 403', async () => {
      const bytes = pdf(5000);
      const file = (await upload(people.citizenA, bytes)).json();
      const signed = async (expiresIn: number) => {
        const link = await inject({ method: 'POST', url: `/api/files/v1/files/${file.id}/download-url`, headers: bearer(people.citizenA), payload: { expiresIn } });
        expect(link.statusCode, link.body).toBe(200);
        return link.json() as { url: string; expiresAt: string };
      };
      const { url: lasting } = await signed(300);
      const fresh = await inject({ url: lasting });
      expect(fresh.statusCode).toBe(200);
      expect(fresh.rawPayload.equals(bytes)).toBe(true);

      const later = new URL(lasting, 'http://x');
      later.searchParams.set('expires', String(Number(later.searchParams.get('expires')) + 3600));
      expect((await inject({ url: later.pathname + later.search })).json()).toMatchObject({ status: 403, code: 'FILES_URL_INVALID' });
      const other = (await upload(people.citizenA, pdf(100))).json();
      expect((await inject({ url: lasting.replace(file.id, other.id) })).json()).toMatchObject({ status: 403, code: 'FILES_URL_INVALID' });

      const { url, expiresAt } = await signed(1);
      await new Promise((r) => setTimeout(r, Math.max(0, new Date(expiresAt).getTime() - Date.now()) + 50));
      const expired = await inject({ url });
      expect(expired.statusCode).toBe(403);
      expect(expired.json()).toMatchObject({ code: 'FILES_URL_EXPIRED' });
    });

    it('refuses to serve a stored object that no longer matches its checksum', async () => {
      const bytes = pdf(4000);
      const file = (await upload(people.citizenA, bytes)).json();
      const flipped = Buffer.from(bytes);
      flipped[flipped.length - 10]! ^= 1;
      await store.overwrite(`ta/${file.id}`, flipped);
      const res = await inject({ url: `/api/files/v1/files/${file.id}/content`, headers: bearer(people.citizenA) });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toMatchObject({ code: 'FILES_CONTENT_CORRUPTED' });
      expect(res.rawPayload.includes(flipped.subarray(0, 200))).toBe(false);
    });

    it('keeps attached files, expires unattached ones and purges deleted ones, all audited', async () => {
      const attached = (await upload(people.citizenA, pdf(1000))).json();
      const orphan = (await upload(people.citizenA, pdf(1000))).json();
      const deleted = (await upload(people.citizenA, pdf(1000))).json();
      const record = { recordType: 'services.application', recordId: 'app_42' };
      const attach = await inject({ method: 'POST', url: `/api/files/v1/files/${attached.id}/attach`, headers: bearer(people.clerk), payload: record });
      expect(attach.json()).toMatchObject({ record: { type: 'services.application', id: 'app_42' } });
      expect((await inject({ method: 'DELETE', url: `/api/files/v1/files/${attached.id}`, headers: bearer(people.citizenA) })).json()).toMatchObject({ code: 'FILES_FILE_ATTACHED' });
      expect((await inject({ method: 'DELETE', url: `/api/files/v1/files/${deleted.id}`, headers: bearer(people.citizenA) })).statusCode).toBe(200);
      expect((await inject({ url: `/api/files/v1/files/${deleted.id}/content`, headers: bearer(people.citizenA) })).statusCode).toBe(404);

      const db = t.runtime.database.db;
      const longAgo = new Date(Date.now() - 49 * 3600_000);
      await db.updateTable('files.files' as any).set({ created_at: longAgo }).where('id', 'in', [attached.id, orphan.id, deleted.id]).execute();
      await db.updateTable('files.files' as any).set({ deleted_at: longAgo }).where('id', '=', deleted.id).execute();
      const result = await expireFiles(t.runtime.contextFor('files', systemActor('test')));
      expect(result.expired).toBe(1);
      expect(result.purged).toBe(1);

      const keys = await store.keys();
      expect(keys).toContain(`ta/${attached.id}`);
      expect(keys).not.toContain(`ta/${orphan.id}`);
      expect(keys).not.toContain(`ta/${deleted.id}`);
      expect((await rowsOf(orphan.id))[0]).toMatchObject({ status: 'expired' });
      expect((await inject({ url: `/api/files/v1/files/${attached.id}/content`, headers: bearer(people.citizenA) })).statusCode).toBe(200);
      const audit = await db.selectFrom('kernel.audit_log' as any).select(['action', 'entity_id']).where('entity_id', 'in', [attached.id, orphan.id, deleted.id]).execute();
      expect(audit.map((a: any) => `${a.action} ${a.entity_id}`)).toEqual(
        expect.arrayContaining([`files.file.attached ${attached.id}`, `files.file.expired ${orphan.id}`, `files.file.deleted ${deleted.id}`, `files.file.purged ${deleted.id}`]),
      );
    });
  });
}
