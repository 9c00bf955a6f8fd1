import { crc32, deflateSync } from 'node:zlib';
import type { Mailroom } from 'mailroom-catcher';
import { MailpitClient } from 'mailpit-api';
import type Mail from 'nodemailer/lib/mailer';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { mailroomForTest, useMailroom } from '../helpers/mailroom.js';
import { send } from '../helpers/send.js';

/**
 * GET /api/v1/message/{id}/part/{partID}/thumb as Mailpit answers it (server/apiv1/thumbnails.go):
 * thumbnails fetched with mailpit-api's getAttachmentThumbnail and read back with sharp.
 */

type Rgb = [number, number, number];
const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];
const GREEN: Rgb = [0, 160, 0];
const WHITE: Rgb = [255, 255, 255];
/** How far a JPEG (quality 70) may move a colour away from its edges. */
const TOLERANCE = 24;

interface Decoded {
  format: string | undefined;
  width: number;
  height: number;
  pixel(x: number, y: number): Rgb;
}

async function decode(jpeg: Buffer): Promise<Decoded> {
  const { format } = await sharp(jpeg).metadata();
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return {
    format,
    width: info.width,
    height: info.height,
    pixel: (x, y) => {
      const at = (y * info.width + x) * 3;
      return [data[at]!, data[at + 1]!, data[at + 2]!];
    },
  };
}

function expectColour(image: Decoded, x: number, y: number, colour: Rgb): void {
  const actual = image.pixel(x, y);
  const off = Math.max(...actual.map((value, i) => Math.abs(value - colour[i]!)));
  expect(off, `pixel (${x},${y}) is ${actual.join(',')}, wanted ${colour.join(',')}`).toBeLessThanOrEqual(TOLERANCE);
}

/** A PNG of vertical bands: [width, colour] from the left, `height` high. */
function bands(height: number, stripes: [number, Rgb | 'clear'][]): Promise<Buffer> {
  const width = stripes.reduce((sum, [w]) => sum + w, 0);
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    let x = 0;
    for (const [w, colour] of stripes) {
      for (const end = x + w; x < end; x++) if (colour !== 'clear') pixels.set([...colour, 255], (y * width + x) * 4);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 4 } }).png().toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A well-formed PNG header claiming 100000×100000 RGB pixels (30 GB decoded) over 1 KB of data. */
function pngBomb(): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(100_000, 0);
  header.writeUInt32BE(100_000, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A solid lossless WebP of side × side pixels: under 1 KB, yet every pixel must be decoded. */
const solidWebp = (side: number): Promise<Buffer> =>
  sharp({ create: { width: side, height: side, channels: 3, background: { r: 0x33, g: 0x66, b: 0x99 } } }).webp({ lossless: true }).toBuffer();

const RED_SQUARE_SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="360" height="240"><rect width="360" height="240" fill="red"/></svg>');

interface Thumb {
  status: number;
  type: string | null;
  body: Buffer;
  headers: Headers;
}

async function thumb(mailroom: Mailroom, id: string, partId: string): Promise<Thumb> {
  const response = await fetch(`${mailroom.apiUrl}/api/v1/message/${id}/part/${partId}/thumb`);
  return { status: response.status, type: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()), headers: response.headers };
}

/** Sends one message with these attachments; their PartIDs by file name, as Mailpit's JSON lists them. */
async function sendAttachments(mailroom: Mailroom, attachments: Mail.Attachment[]): Promise<{ id: string; parts: Record<string, string> }> {
  const id = await send(mailroom, { subject: 'Pictures', text: 'see attached', attachments });
  const summary = await new MailpitClient(mailroom.apiUrl).getMessageSummary(id);
  return { id, parts: Object.fromEntries(summary.Attachments.map((a) => [a.FileName, a.PartID])) };
}

async function expectBlank(jpeg: Buffer): Promise<void> {
  const image = await decode(jpeg);
  expect([image.format, image.width, image.height]).toStrictEqual(['jpeg', 180, 120]);
  const { channels } = await sharp(jpeg).stats();
  expect(channels.map((c) => [c.min, c.max])).toStrictEqual([
    [255, 255],
    [255, 255],
    [255, 255],
  ]);
}

describe('thumbnails of captured attachments', async () => {
  const mailroom = await useMailroom();
  const mailpit = new MailpitClient(mailroom.apiUrl);
  // 400×200: 50 px of black each side, which Mailpit's centred crop to 3:2 (300×200) cuts away.
  const wide = await bands(200, [
    [50, [0, 0, 0]],
    [150, RED],
    [150, BLUE],
    [50, [0, 0, 0]],
  ]);
  // 60×40, a transparent left half over a green right half.
  const small = await bands(40, [
    [30, 'clear'],
    [30, GREEN],
  ]);
  // Stored 66×400 with EXIF orientation 6: shown 400×66, which Mailpit fits into 180×29.
  const rotated = await sharp({ create: { width: 66, height: 400, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const { id, parts } = await sendAttachments(mailroom, [
    { filename: 'wide.png', content: wide, contentType: 'image/png' },
    { filename: 'small.png', content: small, contentType: 'image/png' },
    { filename: 'rotated.jpg', content: rotated, contentType: 'image/jpeg' },
    { filename: 'mislabelled.jpg', content: wide, contentType: 'image/jpeg' },
    { filename: 'notes.txt', content: 'plain notes\n', contentType: 'text/plain' },
    { filename: 'Grüße "quoted".txt', content: 'named in UTF-8\n', contentType: 'text/plain' },
    { filename: 'untyped.png', content: wide, contentType: 'application/octet-stream' },
    { filename: 'drawing.svg', content: RED_SQUARE_SVG, contentType: 'image/svg+xml' },
    { filename: 'drawing.png', content: RED_SQUARE_SVG, contentType: 'image/png' },
    { filename: 'garbage.png', content: Buffer.from('this is not a PNG at all, only text'), contentType: 'image/png' },
    { filename: 'truncated.png', content: wide.subarray(0, wide.length - 40), contentType: 'image/png' },
    { filename: 'bomb.png', content: pngBomb(), contentType: 'image/png' },
    { filename: 'limit.webp', content: await solidWebp(4472), contentType: 'image/webp' },
    { filename: 'over-limit.webp', content: await solidWebp(4473), contentType: 'image/webp' },
  ]);

  it("crops a larger image about its centre to a 180×120 JPEG, fetched with mailpit-api's getAttachmentThumbnail", async () => {
    const blob = await mailpit.getAttachmentThumbnail(id, parts['wide.png']!);
    expect(blob.type).toBe('image/jpeg');
    const image = await decode(Buffer.from(await blob.arrayBuffer()));
    expect([image.format, image.width, image.height]).toStrictEqual(['jpeg', 180, 120]);
    expectColour(image, 0, 60, RED);
    expectColour(image, 80, 10, RED);
    expectColour(image, 100, 110, BLUE);
    expectColour(image, 179, 60, BLUE);

    const answer = await thumb(mailroom, id, parts['wide.png']!);
    expect([answer.status, answer.type, answer.headers.get('content-disposition')]).toStrictEqual([200, 'image/jpeg', 'filename="wide.png"']);
    expect(answer.headers.get('content-length')).toBe(String(answer.body.length));
    // Mailpit sends no caching headers with a thumbnail.
    expect([answer.headers.get('cache-control'), answer.headers.get('etag'), answer.headers.get('last-modified')]).toStrictEqual([null, null, null]);
    expect(answer.body).toStrictEqual(Buffer.from(await blob.arrayBuffer()));
  });

  it('pads a smaller image with white, centred where Mailpit puts it, transparency on white', async () => {
    const image = await decode(Buffer.from(await (await mailpit.getAttachmentThumbnail(id, parts['small.png']!)).arrayBuffer()));
    expect([image.width, image.height]).toStrictEqual([180, 120]);
    // Not enlarged: the 60×40 image sits at (60,40)–(119,79).
    expectColour(image, 50, 60, WHITE);
    expectColour(image, 70, 60, WHITE);
    expectColour(image, 100, 45, GREEN);
    expectColour(image, 115, 75, GREEN);
    expectColour(image, 100, 35, WHITE);
    expectColour(image, 100, 85, WHITE);
    expectColour(image, 130, 60, WHITE);
  });

  it('turns an image as its EXIF orientation says, then fits it into 180×120 with Go’s rounding', async () => {
    const image = await decode(Buffer.from(await (await mailpit.getAttachmentThumbnail(id, parts['rotated.jpg']!)).arrayBuffer()));
    expect([image.width, image.height]).toStrictEqual([180, 120]);
    // 400×66 scales to 180×int(180/(400/66)) = 180×29 (29.7, truncated), placed at y = 60 − int(29/2) = 46.
    const darkRows = Array.from({ length: 120 }, (_, y) => y).filter((y) => image.pixel(90, y)[0] < 128);
    expect(darkRows).toStrictEqual(Array.from({ length: 29 }, (_, i) => 46 + i));
    expectColour(image, 0, 60, [0, 0, 0]);
    expectColour(image, 179, 60, [0, 0, 0]);
  });

  it('reads the image by its bytes, so any image/* type will do, and the largest image Mailpit decodes', async () => {
    const mislabelled = await decode((await thumb(mailroom, id, parts['mislabelled.jpg']!)).body);
    expectColour(mislabelled, 0, 60, RED);
    expectColour(mislabelled, 179, 60, BLUE);
    // 4472×4472 is 19,998,784 pixels, within Mailpit's 20,000,000.
    const limit = await decode((await thumb(mailroom, id, parts['limit.webp']!)).body);
    expectColour(limit, 90, 60, [0x33, 0x66, 0x99]);
  });

  it("answers Mailpit's blank white JPEG for a part that is not image/* or does not decode, SVG included", async () => {
    const blanks: Buffer[] = [];
    for (const name of ['notes.txt', 'untyped.png', 'drawing.svg', 'drawing.png', 'garbage.png', 'truncated.png', 'bomb.png', 'over-limit.webp']) {
      const answer = await thumb(mailroom, id, parts[name]!);
      expect([answer.status, answer.type, answer.headers.get('content-disposition')], name).toStrictEqual([200, 'image/jpeg', `filename="${name}"`]);
      await expectBlank(answer.body);
      blanks.push(answer.body);
    }
    for (const body of blanks) expect(body).toStrictEqual(blanks[0]);
    // Go writes the name's UTF-8 bytes as they are, quotes unescaped; fetch reads header bytes as Latin-1.
    const named = await thumb(mailroom, id, parts['Grüße "quoted".txt']!);
    expect(Buffer.from(named.headers.get('content-disposition')!, 'latin1').toString('utf8')).toBe('filename="Grüße "quoted".txt"');
    expect(named.body).toStrictEqual(blanks[0]);
    const viaClient = await mailpit.getAttachmentThumbnail(id, parts['drawing.svg']!);
    expect([viaClient.type, Buffer.from(await viaClient.arrayBuffer())]).toStrictEqual(['image/jpeg', blanks[0]]);
  });

  it("answers an unknown message or part with Mailpit's 400, `latest` included, and forgets a deleted message", async () => {
    const cases: [string, string, string][] = [
      ['NoSuchMessage', parts['wide.png']!, 'sql: no rows in result set'],
      ['latest', parts['wide.png']!, 'sql: no rows in result set'],
      [id, '99', 'attachment not found'],
      [id, '0', 'attachment not found'],
      [id, 'x', 'attachment not found'],
    ];
    for (const [messageId, partId, text] of cases) {
      const answer = await thumb(mailroom, messageId, partId);
      expect([answer.status, answer.type, answer.body.toString()], `${messageId}/${partId}`).toStrictEqual([400, 'text/plain', text]);
    }
    await expect(mailpit.getAttachmentThumbnail('latest', parts['wide.png']!)).rejects.toThrow('sql: no rows in result set');
    await expect(mailpit.getAttachmentThumbnail(id, '99')).rejects.toThrow('attachment not found');

    const local = await mailroomForTest();
    const sent = await sendAttachments(local, [{ filename: 'wide.png', content: wide, contentType: 'image/png' }]);
    expect((await thumb(local, sent.id, sent.parts['wide.png']!)).status).toBe(200);
    await new MailpitClient(local.apiUrl).deleteMessages({ IDs: [sent.id] });
    const gone = await thumb(local, sent.id, sent.parts['wide.png']!);
    expect([gone.status, gone.body.toString()]).toStrictEqual([400, 'sql: no rows in result set']);
  });
});

it('makes two thumbnails at once with 16 waiting, answers 503 past that, and keeps serving', async () => {
  const mailroom = await mailroomForTest();
  const slow = await solidWebp(4472);
  const quick = await bands(120, [[180, RED]]);
  const names = Array.from({ length: 17 }, (_, i) => `quick-${i}.png`);
  const { id, parts } = await sendAttachments(mailroom, [
    { filename: 'slow-1.webp', content: slow, contentType: 'image/webp' },
    { filename: 'slow-2.webp', content: slow, contentType: 'image/webp' },
    ...names.map((filename) => ({ filename, content: quick, contentType: 'image/png' })),
  ]);
  const slowAnswers = Promise.all(['slow-1.webp', 'slow-2.webp'].map((name) => thumb(mailroom, id, parts[name]!)));
  // Each slow one decodes 20 megapixels, some hundreds of milliseconds: the quick ones all arrive meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const quickAnswers = await Promise.all(names.map((name) => thumb(mailroom, id, parts[name]!)));
  expect((await slowAnswers).map((a) => a.status)).toStrictEqual([200, 200]);
  const refused = quickAnswers.filter((a) => a.status === 503);
  expect([quickAnswers.filter((a) => a.status === 200).length, refused.length]).toStrictEqual([16, 1]);
  expect([refused[0]!.type, refused[0]!.headers.get('retry-after'), refused[0]!.body.toString()]).toStrictEqual([
    'text/plain',
    '1',
    'too many thumbnails are being made; try again shortly',
  ]);
  const retried = await thumb(mailroom, id, parts[names[quickAnswers.indexOf(refused[0]!)]!]!);
  expect([retried.status, retried.type]).toStrictEqual([200, 'image/jpeg']);
  expectColour(await decode(retried.body), 90, 60, RED);
});
