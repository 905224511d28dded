import type { Migration } from './migrations.js';

export const dbMigrations: Migration[] = [
  {
    // Lets one statement refuse to commit when its main write touched no row (see `lastWrite`):
    // raising aborts the whole statement, its other data-modifying parts included.
    name: '001_expect_rows',
    sql: `
      create function expect_rows(n bigint) returns bigint language plpgsql volatile as $$
      begin
        if n = 0 then
          raise exception 'the write touched no row' using errcode = 'SV001';
        end if;
        return n;
      end $$;
    `,
  },
];
