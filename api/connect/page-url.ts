// Where the connect page of a session lives. The token travels in the fragment, which browsers never send
// to a server (so it is in no request log), and the page takes it out of the address bar at once.
export const CONNECT_PAGE_PREFIX = '/connect';

export const connectPagePath = (sessionId: string) => `${CONNECT_PAGE_PREFIX}/${sessionId}`;

export function connectPageUrl(publicUrl: string, sessionId: string, token: string): string {
  return `${publicUrl}${connectPagePath(sessionId)}#token=${token}`;
}
