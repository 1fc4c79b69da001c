// Loaded by path (workers and workflow bundles take converters as modules, not instances): failure
// messages and stack traces move into the encoded attributes, which the payload codec then encrypts, so
// a vendor's error text or a person's name in a provisioning job's reason never sits in history in clear.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
