// The connect page's static files, read once at start-up from this folder: the HTML shell and the one
// script and stylesheet it loads. Their URLs carry a content hash (cached for a year, never stale) and
// the HTML pins them with Subresource Integrity.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface PageAsset {
  body: Buffer;
  contentType: string;
  url: string;
}

export interface ConnectPageAssets {
  html: string;
  /** By file name, e.g. connect.js. */
  files: Map<string, PageAsset>;
  /** Bytes of HTML + script + stylesheet as served (uncompressed), for the README's size claim. */
  totalBytes: number;
}

const FILES = { 'connect.js': 'text/javascript; charset=utf-8', 'connect.css': 'text/css; charset=utf-8' };

export function loadConnectPageAssets(assetsPath: string): ConnectPageAssets {
  const files = new Map<string, PageAsset>();
  let html = readFileSync(path.join(__dirname, 'index.html'), 'utf8');
  for (const [name, contentType] of Object.entries(FILES)) {
    const body = readFileSync(path.join(__dirname, name));
    const version = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const url = `${assetsPath}/${name}?v=${version}`;
    files.set(name, { body, contentType, url });
    const integrity = `sha384-${createHash('sha384').update(body).digest('base64')}`;
    const slot = name.endsWith('.js') ? 'script' : 'style';
    html = html.replace(`{{${slot}.url}}`, url).replace(`{{${slot}.integrity}}`, integrity);
  }
  const totalBytes = Buffer.byteLength(html) + [...files.values()].reduce((n, f) => n + f.body.length, 0);
  return { html, files, totalBytes };
}
