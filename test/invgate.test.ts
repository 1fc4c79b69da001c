// InvGate's quirk: errors come in answers with HTTP 200, in two shapes (the token endpoint's OAuth body,
// the API's {status: "ERROR"}). What InvGate shares with every vendor is in test/vendor-contract.test.ts,
// where a wrong secret (answered 200 with {error}) is refused end to end.
import { invgate } from '../catalog/invgate';

test.each([
  [
    { error: 'invalid_client', error_description: 'Client authentication failed' },
    { code: 'invalid_client', message: 'Client authentication failed' },
  ],
  [{ error: 'invalid_scope' }, { code: 'invalid_scope', message: 'invalid_scope' }],
  [
    { status: 'ERROR', error: 'Unauthorized' },
    { code: 'ERROR', message: 'Unauthorized' },
  ],
  [
    { status: 'ERROR', info: 'Category not found' },
    { code: 'ERROR', message: 'Category not found' },
  ],
  [{ status: 'OK', request_id: 7 }, null],
  [[{ id: 1, name: 'Hardware' }], null],
])('answer body %j is the error %j', (body, expected) => {
  expect(invgate.hooks!.errorInBody!(body)).toEqual(expected);
});
