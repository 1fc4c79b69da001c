// RFC 6749 §5.2 error bodies, used by every token endpoint here (Slack's Web API has its own).
import type { ErrorBody } from './vendor-runtime';

export interface OAuthError {
  error: string;
  error_description: string;
}

export function oauthError(error: string, description: string): OAuthError {
  return { error, error_description: description };
}

/** OAuth error codes for statuses a fault or scenario makes a token endpoint answer. */
export const oauthErrorBody: ErrorBody = (status, message) => {
  if (status === 400) return oauthError('invalid_request', message);
  if (status === 401) return oauthError('invalid_client', message);
  if (status === 429 || status === 503) return oauthError('temporarily_unavailable', message);
  return oauthError(status >= 500 ? 'server_error' : 'invalid_request', message);
};
