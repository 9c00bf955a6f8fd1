import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { Sharp } from 'sharp';
import { partBody } from '../../../mime/decode.js';
import { MessageCache } from '../../../store/message-cache.js';
import type { Store } from '../../../store/store.js';
import type { StoredMessage } from '../../../store/types.js';
import type { EnmimePart } from './parts.js';

/**
 * Mailpit's attachment thumbnails (server/apiv1/thumbnails.go, v1.30.5), made with libvips
 * through sharp instead of Go's image packages.
 *
 * As in Mailpit: a part whose Content-Type is not image/* gets a blank (white) 180×120 JPEG, and
 * so does one that does not decode or claims more than MAX_DECODED_PIXELS. An image narrower
 * than 180 or lower than 120 is shrunk to fit inside 180×120 (never enlarged) and centred on
 * white (imaging.Fit, OverlayCenter); any other is cropped about its centre to 3:2 and scaled
 * to 180×120 (imaging.Fill, which crops first for images of 100×100 and more). EXIF
 * orientation is applied first and transparency is flattened onto white. The sizes are worked
 * out as Go does, integer truncation included, so a thumbnail covers the same pixels.
 *
 * Captured mail is hostile input. Only the raster formats Mailpit's decoders read and libvips
 * has loaders for in sharp's build are handed to sharp, recognised by their first bytes, never
 * by the Content-Type, and confirmed by the loader sharp picks: SVG, PDF and the rest never
 * reach their loaders. BMP and netpbm, which Mailpit also reads, get the blank image here.
 */

const THUMB_WIDTH = 180;
const THUMB_HEIGHT = 120;
/** Mailpit's maxDecodedPixels: sharp refuses larger images from their header, before decoding. */
const MAX_DECODED_PIXELS = 20_000_000;
/** Mailpit's jpeg.Options. */
const JPEG_QUALITY = 70;
/**
 * Thumbnails made at once. Each may hold a decoded image of up to MAX_DECODED_PIXELS (80 MB as
 * RGBA), and sharp's jobs share libuv's thread pool (4 threads) with file and zlib work.
 */
const THUMB_WORKERS = 2;
/** Requests waiting for a worker; a request past these is answered 503 at once. */
const THUMB_QUEUE = 16;
/** A thumbnail unmade after this is given up as undecodable: even a 20-megapixel image takes a fraction of it. */
const THUMB_TIMEOUT_SECONDS = 10;
/** Memory for finished thumbnails, a few KiB each. */
const THUMB_CACHE_BYTES = 8 * 1024 * 1024;
/** Map entry and key overhead counted per cached thumbnail. */
const ENTRY_COST = 64;

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };

type SharpModule = typeof import('sharp').default;
let loaded: Promise<SharpModule> | undefined;

/**
 * sharp, loaded with the first thumbnail: libvips costs startup time and tens of MB that most
 * runs never need. Its settings are process-wide; Mailroom has no other use of it. Thumbnails
 * are cached here once made, so libvips' own operation cache would only keep up to 50 MB of
 * decoded hostile pixels alive. Every loader but those of the formats sniffed below is blocked,
 * so that nothing that slips past the sniffing can reach librsvg, poppler, libheif or the rest.
 */
function libvips(): Promise<SharpModule> {
  loaded ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false);
    sharp.block({ operation: ['VipsForeignLoad'] });
    sharp.unblock({
      operation: ['VipsForeignLoadJpegBuffer', 'VipsForeignLoadPngBuffer', 'VipsForeignLoadNsgifBuffer', 'VipsForeignLoadWebpBuffer', 'VipsForeignLoadTiffBuffer'],
    });
    return sharp;
  });
  return loaded;
}

type Raster = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff';

const startsWith = (bytes: Buffer, ascii: string, at = 0): boolean =>
  bytes.length >= at + ascii.length && bytes.toString('latin1', at, at + ascii.length) === ascii;

/** The format by the magic numbers Go's image package matches for the decoders Mailpit registers. */
function sniff(bytes: Buffer): Raster | null {
  if (startsWith(bytes, '\xff\xd8')) return 'jpeg';
  if (startsWith(bytes, '\x89PNG\r\n\x1a\n')) return 'png';
  if (startsWith(bytes, 'GIF87a') || startsWith(bytes, 'GIF89a')) return 'gif';
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBPVP8', 8)) return 'webp';
  if (startsWith(bytes, 'II*\x00') || startsWith(bytes, 'MM\x00*')) return 'tiff';
  return null;
}

interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** What to cut from the (oriented) image, and the size to scale that to. */
interface Plan {
  crop: Region | null;
  width: number;
  height: number;
}

/** kovidgoyal/imaging's Fit and Fill (Center, Lanczos) as thumbnails.go chooses between them. */
function plan(srcW: number, srcH: number): Plan {
  if (srcW < THUMB_WIDTH || srcH < THUMB_HEIGHT) {
    if (srcW <= THUMB_WIDTH && srcH <= THUMB_HEIGHT) return { crop: null, width: srcW, height: srcH };
    const srcAspect = srcW / srcH;
    let width: number;
    let height: number;
    if (srcAspect > THUMB_WIDTH / THUMB_HEIGHT) {
      width = THUMB_WIDTH;
      height = Math.trunc(width / srcAspect);
    } else {
      height = THUMB_HEIGHT;
      width = Math.trunc(height * srcAspect);
    }
    // Resize reads a 0 as "keep the aspect ratio", rounded, at least 1.
    if (width === 0) width = Math.max(1, Math.floor((height * srcW) / srcH + 0.5));
    if (height === 0) height = Math.max(1, Math.floor((width * srcH) / srcW + 0.5));
    return { crop: null, width, height };
  }
  if (srcW === THUMB_WIDTH && srcH === THUMB_HEIGHT) return { crop: null, width: srcW, height: srcH };
  let crop: Region;
  if (srcW / srcH < THUMB_WIDTH / THUMB_HEIGHT) {
    const height = Math.trunc(Math.max(1, (srcW * THUMB_HEIGHT) / THUMB_WIDTH) + 0.5);
    crop = { left: 0, top: Math.trunc((srcH - height) / 2), width: srcW, height };
  } else {
    const width = Math.trunc(Math.max(1, (srcH * THUMB_WIDTH) / THUMB_HEIGHT) + 0.5);
    crop = { left: Math.trunc((srcW - width) / 2), top: 0, width, height: srcH };
  }
  return { crop, width: THUMB_WIDTH, height: THUMB_HEIGHT };
}

/** Go's JPEG encoder writes no metadata and always three components, grey input included. */
const toJpeg = (image: Sharp): Promise<Buffer> =>
  image.toColourspace('srgb').jpeg({ quality: JPEG_QUALITY, chromaSubsampling: '4:2:0' }).timeout({ seconds: THUMB_TIMEOUT_SECONDS }).toBuffer();

let blankJpeg: Promise<Buffer> | undefined;

/** Mailpit's blankImage: white, 180×120. */
function blank(): Promise<Buffer> {
  blankJpeg ??= libvips().then((sharp) => toJpeg(sharp({ create: { width: THUMB_WIDTH, height: THUMB_HEIGHT, channels: 3, background: WHITE } })));
  return blankJpeg;
}

/** Why a thumbnail could not be made: a timeout depends on load, so its blank answer is not kept. */
interface Failure {
  reason: string;
  lasting: boolean;
}

/**
 * Go's image decoders refuse damaged data rather than salvage it: libvips' warnings (a
 * truncated file, a bad checksum) fail the image too.
 */
const INPUT = { limitInputPixels: MAX_DECODED_PIXELS, failOn: 'warning', autoOrient: true } as const;

async function render(bytes: Buffer): Promise<Buffer | Failure> {
  const format = sniff(bytes);
  if (format === null) return { reason: 'not an image format Mailpit decodes', lasting: true };
  try {
    const sharp = await libvips();
    const metadata = await sharp(bytes, INPUT).metadata();
    if (metadata.format !== format) return { reason: `read as ${metadata.format}, not ${format}`, lasting: true };
    const { width, height } = metadata.autoOrient;
    const steps = plan(width, height);
    let image = sharp(bytes, INPUT);
    if (steps.crop !== null) image = image.extract(steps.crop);
    const left = Math.trunc(THUMB_WIDTH / 2) - Math.trunc(steps.width / 2);
    const top = Math.trunc(THUMB_HEIGHT / 2) - Math.trunc(steps.height / 2);
    image = image
      .resize(steps.width, steps.height, { fit: 'fill', kernel: 'lanczos3' })
      .flatten({ background: WHITE })
      .extend({ left, top, right: THUMB_WIDTH - steps.width - left, bottom: THUMB_HEIGHT - steps.height - top, background: WHITE });
    return await toJpeg(image);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { reason, lasting: !/timeout/i.test(reason) };
  }
}

/** Runs at most `workers` jobs at once, with at most `queue` waiting; null when that queue is full. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly workers: number,
    private readonly queue: number,
  ) {}

  run<T>(job: () => Promise<T>): Promise<T> | null {
    if (this.running >= this.workers && this.waiting.length >= this.queue) return null;
    const slot = this.running < this.workers ? Promise.resolve() : new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.running < this.workers) this.running += 1;
    return slot.then(job).finally(() => {
      // A finished job hands its slot straight to the next in line.
      const next = this.waiting.shift();
      if (next === undefined) this.running -= 1;
      else next();
    });
  }
}

type PartThumbs = ReadonlyMap<string, Buffer>;

const thumbsCost = (thumbs: PartThumbs): number => {
  let total = 0;
  for (const [partId, jpeg] of thumbs) total += ENTRY_COST + partId.length + jpeg.length;
  return total;
};

/** The queue is full: the client may try again shortly. */
export const BUSY = Symbol('busy');

export class Thumbnails {
  private readonly cache: MessageCache<PartThumbs>;
  private readonly limiter = new Limiter(THUMB_WORKERS, THUMB_QUEUE);
  /** Thumbnails being made, so that a burst of requests for one part makes it once. */
  private readonly pending = new Map<string, Promise<Buffer>>();

  constructor(private readonly store: Store) {
    this.cache = new MessageCache(store, THUMB_CACHE_BYTES, thumbsCost);
  }

  /** The JPEG Mailpit answers for a part, or BUSY when THUMB_QUEUE requests are already waiting. */
  async of(message: StoredMessage, part: EnmimePart, log: FastifyBaseLogger): Promise<Buffer | typeof BUSY> {
    if (!part.contentType.startsWith('image/')) return blank();
    const cached = this.cache.get(message.id)?.get(part.partId);
    if (cached !== undefined) return cached;
    const key = `${message.id}/${part.partId}`;
    const pending = this.pending.get(key);
    if (pending !== undefined) return pending;
    const made = this.limiter.run(() => this.make(message, part, log));
    if (made === null) return BUSY;
    const settled = made.finally(() => this.pending.delete(key));
    this.pending.set(key, settled);
    return settled;
  }

  close(): void {
    this.cache.close();
  }

  private async make(message: StoredMessage, part: EnmimePart, log: FastifyBaseLogger): Promise<Buffer> {
    const result = await render(partBody(message.raw, part.part));
    const jpeg = Buffer.isBuffer(result) ? result : await blank();
    if (!Buffer.isBuffer(result)) log.warn({ messageId: message.id, partId: part.partId }, `[image] ${result.reason}`);
    const lasting = Buffer.isBuffer(result) || result.lasting;
    // A message deleted meanwhile would never be forgotten by the cache.
    if (lasting && this.store.get(message.id) !== undefined) {
      this.cache.set(message.id, new Map(this.cache.get(message.id)).set(part.partId, jpeg));
    }
    return jpeg;
  }
}

/**
 * The file name as Go writes it into `filename="…"`: unescaped, its UTF-8 bytes as they are
 * (Node sends a header string as Latin-1), line breaks turned to spaces as net/http does. Node
 * refuses the other control characters Go would pass through, so those become spaces too.
 */
function goHeaderText(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ');
}

export function sendThumbnail(reply: FastifyReply, part: EnmimePart, jpeg: Buffer): FastifyReply {
  const fileName = part.fileName === '' ? part.contentId : part.fileName;
  return reply.code(200).type('image/jpeg').header('content-disposition', `filename="${goHeaderText(fileName)}"`).send(jpeg);
}
