// Connect session tokens: 32 random bytes, shown once when the session is created; only their SHA-256 is
// stored, so a database reader cannot act as a session.
import { createHash, randomBytes } from 'node:crypto';

/** Tells a session token apart from an API key (tk_…) at a glance, in support tickets and scanners. */
const PREFIX = 'cst_';

export const newSessionToken = () => `${PREFIX}${randomBytes(32).toString('base64url')}`;

export const hashSessionToken = (token: string) => createHash('sha256').update(token).digest('hex');
