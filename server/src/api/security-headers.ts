import type { OutgoingHttpHeaders } from 'node:http';

/**
 * The web app's policy. It runs only its own script and talks only to its own
 * origin (the API and socket.io's WebSocket: 'self' covers ws: on the same
 * host). Images, styles and fonts may come from the web because the HTML
 * preview is an `srcdoc` frame, which inherits this policy, and its "load
 * remote content" switch must work; the frame's own stricter policy governs
 * it otherwise. No framing, no forms, no <base>: a page cannot dress
 * Mailroom up inside its own, and mail HTML cannot submit or re-anchor links.
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline' https: http:",
  "img-src 'self' data: blob: https: http:",
  "font-src 'self' data: https: http:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every HTTP response carries, the API's and socket.io's included. */
export const SECURITY_HEADERS: Readonly<OutgoingHttpHeaders> = {
  // Nothing is ever run as script or style because of how its bytes look.
  'x-content-type-options': 'nosniff',
  // Other origins may not embed responses (`<img>`, `<script>`); CORS requests are not affected.
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * A route's own Content-Security-Policy (a message part's sandbox, say)
 * replaces the app's, but framing stays forbidden in every one.
 */
export function withFrameAncestors(policy: string): string {
  return /(^|;)\s*frame-ancestors\s/i.test(policy) ? policy : `${policy}; frame-ancestors 'none'`;
}
