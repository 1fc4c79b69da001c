-- An OAuth install's code is kept encrypted between the callback and the activity that redeems it.
ALTER TYPE "SecretKind" ADD VALUE 'authorization_code';
