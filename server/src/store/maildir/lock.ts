import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_FILE = 'mailroom.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One Mailroom per data directory: two writing the same journal would lose
 * each other's messages. The lock file holds the owner's pid; a lock whose
 * owner is gone (killed, or an earlier run of this very process in a
 * container, where the pid repeats) is taken over.
 */
export class DataDirLock {
  /** Directories this process holds: its pid in the file cannot tell a second Mailroom in the same process. */
  private static readonly held = new Set<string>();

  private constructor(private readonly path: string) {}

  static async acquire(dir: string): Promise<DataDirLock> {
    const path = join(dir, LOCK_FILE);
    if (DataDirLock.held.has(path)) throw new Error(`${dir} is in use by another Mailroom in this process (pid ${process.pid}); give this one another directory`);
    const lock = await DataDirLock.take(dir, path);
    DataDirLock.held.add(path);
    return lock;
  }

  private static async take(dir: string, path: string): Promise<DataDirLock> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, 'wx');
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        return new DataDirLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new Error(`${dir} is in use by another Mailroom (pid ${owner}); stop it, or give this one another directory`);
      }
      await unlink(path).catch(() => undefined);
    }
    throw new Error(`${dir} was taken by another Mailroom starting at the same time`);
  }

  async release(): Promise<void> {
    DataDirLock.held.delete(this.path);
    await unlink(this.path).catch(() => undefined);
  }
}
