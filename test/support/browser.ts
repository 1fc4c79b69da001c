// Real Chromium for the connect page tests: Debian's `chromium` driven by playwright-core (Playwright's own
// browser download does not work offline), the stack's API listening on a real port (browsers cannot use
// inject), and a small "customer app" on another origin that the page returns to, opens it as a popup or
// frames it.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { startStack, type Stack, type StackOptions } from './stack';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}: the connect page tests run in a real browser. ` +
        'Install it with `apt-get update && apt-get install -y chromium` (or set CHROMIUM_PATH to a Chromium binary).',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Playwright adds --no-sandbox (needed as root) and a fresh profile; these keep Chromium from calling home.
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * The whole stack with its API listening on loopback, its own address being TETHER_PUBLIC_URL (the page's
 * URLs and Slack's redirect URI start with it). `url` is that address.
 */
export async function startListeningStack(options: StackOptions = {}): Promise<Stack & { url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const stack = await startStack({ ...options, publicUrl: url });
  try {
    await stack.rawApp.listen({ host: '127.0.0.1', port });
  } catch (err) {
    await stack.close();
    throw err;
  }
  return Object.assign(stack, { url });
}

export interface CustomerApp {
  /** http://localhost:<port>: another origin than the API's 127.0.0.1. */
  origin: string;
  close(): Promise<void>;
}

/**
 * The customer's web app: `/return` (where redirects land), `/popup?open=<url>` (opens the page as a
 * popup from a click) and `/frame?src=<url>` (embeds it). Both record messages, with their origin, in
 * `window.received`.
 */
export async function startCustomerApp(): Promise<CustomerApp> {
  const page = (title: string, body: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}` +
    `<script>window.received = []; addEventListener('message', (e) => window.received.push({ origin: e.origin, data: e.data }));` +
    `const p = new URLSearchParams(location.search);` +
    `document.getElementById('open')?.addEventListener('click', () => { window.popup = open(p.get('open'), 'connect', 'width=600,height=800'); });` +
    `const f = document.getElementById('frame'); if (f) f.src = p.get('src');</script></body></html>`;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const html =
      path === '/return'
        ? page('Back in the app', '<h1>Back in the app</h1>')
        : path === '/popup'
          ? page('App with popup', '<h1>App</h1><button id="open">Connect</button>')
          : path === '/frame'
            ? page(
                'App with frame',
                '<h1>App</h1><iframe id="frame" title="Connect" width="700" height="900"></iframe>',
              )
            : null;
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
