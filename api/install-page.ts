// The page an admin's browser ends on after a vendor's consent page: a few lines saying what happened and
// what to do next. No scripts, no external assets; its Content-Security-Policy allows its own style only.
import { createHash } from 'node:crypto';

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}' +
  'h1{font-size:1.4rem}.ok{color:#0a6b2b}.failed{color:#a4221b}dl{color:#555}dt{float:left;margin-right:.5em}';

/** Nothing loads but the inline style above (by its hash); the page cannot be framed, nor post anywhere. */
export const INSTALL_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface InstallPage {
  ok: boolean;
  title: string;
  message: string;
  /** Label and value lines under the message (the connection, its status). */
  details: [string, string][];
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export function renderInstallPage({ ok, title, message, details }: InstallPage): string {
  const lines = details
    .map(([label, value]) => `<dt>${escapeHtml(label)}:</dt><dd>${escapeHtml(value)}</dd>`)
    .join('');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>`,
    `<body><h1 class="${ok ? 'ok' : 'failed'}">${escapeHtml(title)}</h1>`,
    `<p>${escapeHtml(message)}</p>`,
    lines ? `<dl>${lines}</dl>` : '',
    '<p>You can close this window.</p></body></html>',
  ].join('\n');
}
