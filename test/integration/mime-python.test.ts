import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { partText } from '../../server/src/mime/decode.js';
import { indexMessage, type MimePart } from '../../server/src/mime/part-index.js';

/**
 * The part tree against Python's email package, an independent MIME reader:
 * types, file names, charsets and decoded text of every part. The fixtures
 * below are left to the Dovecot comparison, because the two references read
 * them differently (test/fixtures/mime/README.md explains each).
 */
const REFERENCES_DISAGREE = new Set([
  'edge-rfc822-base64-body.eml',
  'edge-message-partial.eml',
  'edge-header-space-before-colon.eml',
  'edge-header-no-colon-line.eml',
  'edge-content-type-no-subtype.eml',
  'edge-content-type-garbage.eml',
  'edge-content-type-invalid-parts.eml',
  'edge-content-type-case-comments.eml',
  'edge-boundary-never-appears.eml',
  'edge-multipart-no-boundary.eml',
  'edge-empty-parts.eml',
  'edge-nested-same-boundary.eml',
  'edge-rfc2047-filename-name-param.eml',
  'edge-8bit-headers-latin1.eml',
  'charset-multipart-all.eml',
  'edge-base64-garbage-no-padding.eml',
  'edge-missing-close-boundary.eml',
  'edge-qp-soft-breaks-lowercase-hex.eml',
]);

const dir = fileURLToPath(new URL('../fixtures/mime/', import.meta.url));
const names = readdirSync(dir).filter((name) => name.endsWith('.eml') && !REFERENCES_DISAGREE.has(name)).sort();

interface PyNode {
  contentType: string;
  filename: string | null;
  charset: string | null;
  children: PyNode[];
  text?: string | null;
}

function ours(raw: Buffer, part: MimePart): PyNode {
  const node: PyNode = {
    contentType: `${part.type}/${part.subtype}`,
    filename: part.filename,
    charset: part.params.charset?.toLowerCase() ?? null,
    children: part.message ? [ours(raw, part.message)] : part.children.map((child) => ours(raw, child)),
  };
  if (part.type === 'text' && !part.message && part.children.length === 0) node.text = partText(raw, part);
  return node;
}

let python: Record<string, PyNode>;

beforeAll(async () => {
  const { stdout } = await promisify(execFile)('python3', [`${dir}python-structure.py`, ...names.map((n) => dir + n)], {
    maxBuffer: 64 * 1024 * 1024,
  });
  python = JSON.parse(stdout) as Record<string, PyNode>;
});

describe("part trees equal Python's email package", () => {
  it.each(names)('%s', (name) => {
    const raw = readFileSync(dir + name);
    expect(ours(raw, indexMessage(raw).root)).toStrictEqual(python[name]);
  });
});
