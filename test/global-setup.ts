import { buildIfStale } from '../scripts/build.mjs';
import { missingMessage, missingTools } from '../scripts/test-deps.mjs';

/**
 * Before any test: every program the suite runs beside Mailroom must be here (a missing one stops
 * the run at once with one message naming it, rather than failing or passing tests one by one),
 * and dist/ must be built from the sources as they are, since tests that start Mailroom as users
 * do (the bin, the package by name) run the build while unit tests import the sources.
 */
export default function setup(): void {
  const missing = missingTools();
  if (missing.length > 0) throw new Error(missingMessage(missing));
  buildIfStale();
}
