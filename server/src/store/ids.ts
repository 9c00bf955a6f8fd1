import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const ID_BYTES = 12;

/**
 * Message ids: 16 URL-safe characters from 96 random bits, so ids never
 * repeat across restarts and cannot be guessed or confused with uids.
 * Random bytes are drawn in blocks to keep ingest cheap.
 */
export class IdGenerator {
  private pool = Buffer.alloc(POOL_SIZE);
  private offset = POOL_SIZE;

  next(): string {
    if (this.offset + ID_BYTES > POOL_SIZE) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const id = this.pool.toString('base64url', this.offset, this.offset + ID_BYTES);
    this.offset += ID_BYTES;
    return id;
  }
}
