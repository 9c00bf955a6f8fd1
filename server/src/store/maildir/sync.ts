import { open } from 'node:fs/promises';

/** Makes the names in a directory durable: a rename or a new file is not, until its directory is synced. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
