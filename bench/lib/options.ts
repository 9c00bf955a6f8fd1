/** A whole-number option from a flag or an environment variable; a bad value stops the run, naming the flag. */
export function countOption(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name}: expected a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
