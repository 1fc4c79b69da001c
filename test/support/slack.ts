// Slack on its simulator as others reach it: the Web API called by anyone holding a token, and the
// OAuth install as an admin's browser goes through it (Tether's install route, Slack's consent page,
// which the simulator accepts at once, and the callback back to Tether).
import { TEST_PUBLIC_URL, type Stack } from './stack';

export async function slackWebApi(
  stack: Stack,
  method: string,
  form: Record<string, string>,
  token?: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${stack.sim.baseUrl}/slack/api/${method}`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: new URLSearchParams(form),
  });
  return (await res.json()) as Record<string, unknown>;
}

export async function startInstall(
  stack: Stack,
  id: string,
): Promise<{ authorizeUrl: string; expiresAt: string }> {
  const res = await stack.app.inject({ method: 'POST', url: `/v1/connections/${id}/install` });
  expect(res.statusCode).toBe(201);
  return res.json();
}

/** The admin's browser on Slack's consent page: where it is sent back to. */
export async function consent(authorizeUrl: string): Promise<URL> {
  const res = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(res.status).toBe(302);
  const back = new URL(res.headers.get('location')!);
  expect(`${back.origin}${back.pathname}`).toBe(`${TEST_PUBLIC_URL}/v1/oauth/callback`);
  return back;
}

/** The browser arriving at the callback: no API key, only what Slack put in the URL; JSON asked for. */
export const callback = (stack: Stack, search: string) =>
  stack.rawApp.inject({
    method: 'GET',
    url: `/v1/oauth/callback${search}`,
    headers: { accept: 'application/json' },
  });

/** The same, as a browser asks for it: the callback answers a page (or a redirect) then. */
export const browserCallback = (stack: Stack, search: string) =>
  stack.rawApp.inject({
    method: 'GET',
    url: `/v1/oauth/callback${search}`,
    headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
  });

/** Where the simulated admin installs the app from now on, for this client (the consent page's choice). */
export const installOn = (
  stack: Stack,
  clientId: string,
  target: {
    isEnterpriseInstall: boolean;
    enterprise: { id: string; name: string } | null;
    team: { id: string; name: string } | null;
  },
) => stack.sim.control.setInstallTarget({ vendor: 'slack', match: clientId, target });

/** The whole round trip: start, consent, callback. */
export async function install(stack: Stack, id: string) {
  const back = await consent((await startInstall(stack, id)).authorizeUrl);
  return { back, res: await callback(stack, back.search) };
}
