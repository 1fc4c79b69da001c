#!/bin/sh
# One-shot (temporalio/admin-tools) after the Temporal server is up: creates the namespace and registers
# the search attributes the lifecycle workflows write (workflows/search-attributes.ts), so operators can
# filter in the Web UI, e.g. TetherStatus="needs_reauth". Safe to re-run.
# Env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_NAMESPACE_RETENTION.
set -eu
NS="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-168h}"

echo "waiting for Temporal at ${TEMPORAL_ADDRESS}"
tries=0
until temporal operator cluster health --address "${TEMPORAL_ADDRESS}" 2>/dev/null | grep -q SERVING; do
  tries=$((tries + 1))
  if [ "$tries" -ge 120 ]; then echo "Temporal did not become healthy"; exit 1; fi
  sleep 2
done

if temporal operator namespace describe --address "${TEMPORAL_ADDRESS}" -n "$NS" >/dev/null 2>&1; then
  echo "namespace ${NS} exists"
else
  temporal operator namespace create --address "${TEMPORAL_ADDRESS}" -n "$NS" --retention "$RETENTION"
fi

# The namespace can take a moment to be visible to every service; retry until the attributes stick.
tries=0
until temporal operator search-attribute create --address "${TEMPORAL_ADDRESS}" --namespace "$NS" \
  --name TetherVendor --type Keyword \
  --name TetherStatus --type Keyword \
  --name TetherTenant --type Keyword; do
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then echo "could not register search attributes"; exit 1; fi
  sleep 2
done
temporal operator search-attribute list --address "${TEMPORAL_ADDRESS}" --namespace "$NS" | grep Tether
echo "Temporal namespace ${NS} ready"
