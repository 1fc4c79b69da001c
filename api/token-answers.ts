// What the token access route and the proxy answer when the token cannot be had: the connection's state
// (409, with its status and reason) or an unreachable workflow (503).
import { unavailable } from './commands';
import { ApiError } from './errors';
import { ConnectionUnusableError, RefreshUnavailableError } from './token-access';

export function tokenFailure(err: unknown): unknown {
  if (err instanceof ConnectionUnusableError) {
    return new ApiError(409, 'connection_unusable', err.message, undefined, {
      status: err.status,
      reason: err.reason,
    });
  }
  if (err instanceof RefreshUnavailableError) {
    return unavailable(
      err.cause,
      'the token needed a refresh, but the connection’s workflow could not be reached',
    );
  }
  return err;
}
