export default async function globalTeardown() {
  await globalThis.mailroom?.close();
}
