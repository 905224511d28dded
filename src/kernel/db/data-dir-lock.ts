import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SevaBootError } from '../errors/boot-error.js';

/**
 * One process owns an embedded data folder. A second process gets a clear error instead of
 * becoming a silent second writer; a lock left by a dead process is taken over.
 */
export function lockDataDir(dataDir: string): { release(): void } {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = join(dataDir, 'seva.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          if (ownerOf(lockPath) === process.pid) rmSync(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = ownerOf(lockPath);
      if (owner !== undefined && isAlive(owner)) {
        throw new SevaBootError(
          owner === process.pid
            ? `data folder ${dataDir} is already open in this process`
            : `data folder ${dataDir} is in use by process ${owner}; stop it, or point SEVA_DATA_DIR elsewhere`,
        );
      }
      // Remove the stale lock only if it still names the dead owner: another starter may have
      // replaced it since it was read.
      if (ownerOf(lockPath) === owner) rmSync(lockPath, { force: true });
    }
  }
  throw new SevaBootError(`data folder ${dataDir}: could not take the lock file ${lockPath}`);
}

function ownerOf(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
