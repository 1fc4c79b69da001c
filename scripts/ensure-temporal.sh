#!/usr/bin/env bash
# Prints the path of a ready `temporal` CLI binary (dev server + Web UI) on stdout, nothing else.
# Progress and errors go to stderr so callers can do: TEMPORAL="$(bash scripts/ensure-temporal.sh)".
#
# Order: $TEMPORAL_CLI if set; else a per-pin cache under ${XDG_CACHE_HOME:-$HOME/.cache}/tether;
# else build it from the pinned Go module in tools/temporal-cli (needs Go and the Go module proxy).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PIN_DIR="$ROOT/tools/temporal-cli"
PKG="github.com/temporalio/cli/cmd/temporal"

log() { printf '[ensure-temporal] %s\n' "$*" >&2; }
die() {
  printf '[ensure-temporal] error: %s\n' "$1" >&2
  shift
  local line
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}

# 1. Explicit binary wins; check it actually runs so a bad path fails here, not in a test timeout.
if [[ -n "${TEMPORAL_CLI:-}" ]]; then
  cli="$TEMPORAL_CLI"
  if [[ "$cli" != */* ]]; then
    cli="$(command -v -- "$cli" || true)"
    [[ -n "$cli" ]] || die "TEMPORAL_CLI=$TEMPORAL_CLI is not on PATH"
  fi
  [[ -f "$cli" && -x "$cli" ]] || die "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file"
  cli="$(cd "$(dirname "$cli")" && pwd)/$(basename "$cli")"
  "$cli" --version >/dev/null 2>&1 || die "TEMPORAL_CLI=$cli does not run (\`$cli --version\` failed)"
  printf '%s\n' "$cli"
  exit 0
fi

[[ -f "$PIN_DIR/go.mod" && -f "$PIN_DIR/go.sum" ]] || die "missing $PIN_DIR/go.mod or go.sum"

# The require line may sit inside a require ( ... ) block; match the exact module path.
CLI_VERSION="$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/temporalio/cli" && $(i + 1) ~ /^v/) { print $(i + 1); exit } }' "$PIN_DIR/go.mod")"
GO_REQUIRED="$(awk '$1 == "go" { print $2; exit }' "$PIN_DIR/go.mod")"
[[ -n "$CLI_VERSION" ]] || die "cannot find the github.com/temporalio/cli version in $PIN_DIR/go.mod"

if command -v sha256sum >/dev/null 2>&1; then
  PIN_HASH="$(cat "$PIN_DIR/go.mod" "$PIN_DIR/go.sum" | sha256sum | cut -c1-16)"
else
  PIN_HASH="$(cat "$PIN_DIR/go.mod" "$PIN_DIR/go.sum" | shasum -a 256 | cut -c1-16)"
fi
# OS/arch in the key: a home directory shared with a container must not hand out the wrong binary.
KEY="${CLI_VERSION}-$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)-${PIN_HASH}"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/tether/temporal-cli/$KEY"
BIN="$CACHE_DIR/temporal"

# 2. Cache hit: the binary only ever lands there after passing --version, so no re-check needed.
if [[ -x "$BIN" ]]; then
  printf '%s\n' "$BIN"
  exit 0
fi

# 3. Build. The official Go tarball lives in /usr/local/go/bin, often missing from non-login PATHs.
GO="$(command -v go || true)"
if [[ -z "$GO" && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi
if [[ -z "$GO" ]]; then
  die "the Temporal CLI $CLI_VERSION is not cached at $BIN and Go is not installed to build it." \
    "Pick one:" \
    "  - install Go >= $GO_REQUIRED (https://go.dev/dl/) and re-run; the first build takes a few minutes" \
    "  - export TEMPORAL_CLI=/path/to/temporal   (an existing temporal CLI binary, e.g. from 'brew install temporal')" \
    "  - run the stack with docker compose instead of the local dev server"
fi

GO_HAVE="$("$GO" env GOVERSION 2>/dev/null | sed 's/^go//')"
if [[ -n "$GO_REQUIRED" && -n "$GO_HAVE" ]] &&
  [[ "$(printf '%s\n%s\n' "$GO_REQUIRED" "$GO_HAVE" | sort -V | head -n1)" != "$GO_REQUIRED" ]]; then
  if [[ "$("$GO" env GOTOOLCHAIN)" == local* ]]; then
    die "Go $GO_HAVE is older than go $GO_REQUIRED required by $PIN_DIR/go.mod (and GOTOOLCHAIN=local)." \
      "Install Go >= $GO_REQUIRED, or set GOTOOLCHAIN=auto to let Go fetch it, or set TEMPORAL_CLI."
  fi
  log "Go $GO_HAVE < $GO_REQUIRED: Go will download toolchain go$GO_REQUIRED from the module proxy"
fi

mkdir -p "$CACHE_DIR"

# Serialise concurrent builds where flock exists; the atomic mv below keeps racing builds safe anyway.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_DIR/.lock"
  if ! flock -n 9; then
    log "another process is building the Temporal CLI; waiting for it"
    flock 9
  fi
  if [[ -x "$BIN" ]]; then
    printf '%s\n' "$BIN"
    exit 0
  fi
fi

TMP_BIN="$(mktemp "$CACHE_DIR/.temporal.XXXXXX")"
BUILD_LOG="$(mktemp "${TMPDIR:-/tmp}/tether-temporal-build.XXXXXX")"
BUILD_PID=""
cleanup() {
  if [[ -n "$BUILD_PID" ]]; then kill "$BUILD_PID" 2>/dev/null || true; fi
  rm -f "$TMP_BIN" "$BUILD_LOG"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# GOWORK=off: a go.work further up must not change what the pin builds.
export CGO_ENABLED=0 GOWORK=off

log "building Temporal CLI $CLI_VERSION from the Go module proxy; first run takes a few minutes"
log "  pin: $PIN_DIR (go.mod/go.sum hash $PIN_HASH), go: $GO ($GO_HAVE)"
log "  target: $BIN"

START=$SECONDS
# `go list -deps` fetches any missing modules and gives the package count for the progress line.
log "resolving modules (downloads on first run)..."
if ! TOTAL="$(cd "$PIN_DIR" && "$GO" list -deps "$PKG" 2>"$BUILD_LOG" | wc -l | tr -d ' ')"; then
  cat "$BUILD_LOG" >&2
  die "resolving the module graph failed (is the Go module proxy reachable? GOPROXY=$("$GO" env GOPROXY))"
fi
[[ -s "$BUILD_LOG" ]] && grep -v '^go: downloading' "$BUILD_LOG" >&2 || true
log "  ${TOTAL} packages in the graph ($((SECONDS - START))s); compiling (cached packages are skipped)"

# -X Version: a plain `go build` reports 0.0.0-DEV; -s -w as upstream's goreleaser (much smaller binary).
(cd "$PIN_DIR" && exec "$GO" build -v \
  -ldflags "-s -w -X github.com/temporalio/cli/internal/temporalcli.Version=${CLI_VERSION#v}" \
  -o "$TMP_BIN" "$PKG") >"$BUILD_LOG" 2>&1 9>&- &
BUILD_PID=$!

# One status line per interval: go build -v prints a package name per compiled package.
TTY=0
[[ -t 2 ]] && TTY=1
INTERVAL=10
[[ $TTY == 1 ]] && INTERVAL=1
last=$SECONDS
while kill -0 "$BUILD_PID" 2>/dev/null; do
  sleep 1
  if ((SECONDS - last >= INTERVAL)); then
    last=$SECONDS
    done_pkgs="$(grep -cv -e '^#' -e ' ' "$BUILD_LOG" || true)"
    msg="$(printf '  %4ds elapsed, %s/%s packages compiled' "$((SECONDS - START))" "$done_pkgs" "$TOTAL")"
    if [[ $TTY == 1 ]]; then printf '\r%s ' "$msg" >&2; else printf '%s\n' "$msg" >&2; fi
  fi
done
[[ $TTY == 1 ]] && printf '\n' >&2
rc=0
wait "$BUILD_PID" || rc=$?
BUILD_PID=""
if ((rc != 0)); then
  printf '%s\n' '--- go build output (tail) ---' >&2
  grep -v -e '^[^ #:]*$' "$BUILD_LOG" | tail -n 40 >&2 || tail -n 40 "$BUILD_LOG" >&2
  die "go build failed (exit $rc) after $((SECONDS - START))s"
fi

if ! version="$("$TMP_BIN" --version 2>&1)" || [[ "$version" != *" ${CLI_VERSION#v} "* ]]; then
  die "the freshly built binary failed its check (\`temporal --version\` said: $version)"
fi
chmod 755 "$TMP_BIN"
# Same-directory rename is atomic: a racing reader sees either no binary or a complete one.
mv -f "$TMP_BIN" "$BIN"
log "built in $((SECONDS - START))s: $version"
printf '%s\n' "$BIN"
