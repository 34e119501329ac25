/**
 * The UI's Content-Security-Policy, one definition for the Electron window and the
 * `resumescope ui` server: own scripts, styles, workers and fetches only; nothing inline,
 * no eval, no frames.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
