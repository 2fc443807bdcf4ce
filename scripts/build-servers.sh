#!/usr/bin/env bash
# Builds the two Go servers mlpipe runs locally -- the Temporal CLI (dev server) and MinIO --
# into a per-user cache shared by every clone, and reuses them while their version matches.
#
#   bash scripts/build-servers.sh [--quiet] [temporal] [minio]     (no name: both)
#
#   MLPIPE_BIN_DIR            where the binaries go (default ${XDG_CACHE_HOME:-$HOME/.cache}/mlpipe/bin)
#   MLPIPE_USE_PATH_BINARIES  1: use `temporal` and `minio` from PATH, build nothing
set -euo pipefail

# Temporal CLI tags after v1.5.1 carry a `replace` directive, which `go install pkg@version` rejects.
readonly TEMPORAL_MODULE=github.com/temporalio/cli
readonly TEMPORAL_PACKAGE=github.com/temporalio/cli/cmd/temporal
readonly TEMPORAL_VERSION=v1.5.1
# MinIO publishes no Go module tags; this pseudo-version pins one commit of its master branch.
readonly MINIO_MODULE=github.com/minio/minio
readonly MINIO_PACKAGE=github.com/minio/minio
readonly MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

quiet=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    temporal|minio) wanted+=("$arg") ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-servers: unknown argument '$arg' (expected --quiet, temporal or minio)" >&2; exit 2 ;;
  esac
done
[ "${#wanted[@]}" -gt 0 ] || wanted=(temporal minio)

say() { if [ "$quiet" = 0 ]; then echo "build-servers: $*"; fi; }
shout() { echo "build-servers: $*"; }

bin_dir="${MLPIPE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mlpipe/bin}"

if [ "${MLPIPE_USE_PATH_BINARIES:-}" = 1 ] || [ "${MLPIPE_USE_PATH_BINARIES:-}" = true ]; then
  missing=0
  for name in "${wanted[@]}"; do
    if found="$(command -v "$name")"; then
      say "using $name from PATH: $found"
    else
      shout "MLPIPE_USE_PATH_BINARIES is set but '$name' is not on PATH"
      missing=1
    fi
  done
  exit "$missing"
fi

# Prints "<module> <version>" embedded in a Go binary, or nothing.
embedded_version() {
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $2, $3; exit }'
}

is_current() { # binary module version
  [ -x "$1" ] && [ "$(embedded_version "$1")" = "$2 $3" ]
}

explain_without_go() { # why
  cat >&2 <<MSG
build-servers: $1, so the servers cannot be built here.
  Either install Go (https://go.dev/dl/, 1.25 or newer; Go 1.21 to 1.24 fetch a newer toolchain
  themselves) and run this script again, or fetch the two binaries yourself:
    - Temporal CLI $TEMPORAL_VERSION: https://github.com/temporalio/cli/releases/tag/$TEMPORAL_VERSION
      (archive temporal_cli_${TEMPORAL_VERSION#v}_<os>_<arch>.tar.gz, binary 'temporal')
    - MinIO server: https://dl.min.io/server/minio/release/<os>-<arch>/minio
  then either copy both into $bin_dir, or put them on PATH and set MLPIPE_USE_PATH_BINARIES=1.
MSG
}

all_present() {
  local name
  for name in "${wanted[@]}"; do [ -x "$bin_dir/$name" ] || return 1; done
}

if ! command -v go >/dev/null 2>&1; then
  if all_present; then
    say "Go is not installed; using the binaries already in $bin_dir without checking their versions"
    exit 0
  fi
  explain_without_go "Go is not installed"
  exit 1
fi

# Go 1.21 and later switch to the toolchain a module asks for (GOTOOLCHAIN=auto); older ones cannot.
go_version="$(go env GOVERSION 2>/dev/null || true)"
if ! [[ "$go_version" =~ ^go1\.([0-9]+) ]] || [ "${BASH_REMATCH[1]}" -lt 21 ]; then
  explain_without_go "$(command -v go) is ${go_version:-of unknown version}, too old to build them"
  exit 1
fi

mkdir -p "$bin_dir"

# Several clones (or a test run and a demo) may set up at once; one builds, the others wait
# and then find the binaries current.
lock="$bin_dir/.build.lock"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$lock"
  if ! flock -n 9; then
    shout "another build into $bin_dir is running; waiting for it"
    flock 9
  fi
else
  until mkdir "$lock.d" 2>/dev/null; do
    shout "another build into $bin_dir is running (lock $lock.d); waiting for it"
    sleep 5
  done
  trap 'rmdir "$lock.d"' EXIT
fi

build() { # name module package version minutes-on-two-cores
  local name="$1" module="$2" package="$3" version="$4" minutes="$5"
  local target="$bin_dir/$name"
  if is_current "$target" "$module" "$version"; then
    say "$name $version is current: $target"
    return 0
  fi
  local found
  found="$(embedded_version "$target" 2>/dev/null || true)"
  if [ -e "$target" ]; then
    shout "$name in $bin_dir is ${found:-of unknown version}, want $module $version: rebuilding"
  fi
  shout "building $name $version with $(go env GOVERSION) (go install $package@$version): about $minutes min on a 2-core machine, once per machine"
  # Build beside the cache and rename, so nobody ever runs a half-written binary.
  local staging
  staging="$(mktemp -d "$bin_dir/.build-$name.XXXXXX")"
  local start=$SECONDS
  if ! GOBIN="$staging" go install "$package@$version"; then
    rm -rf "$staging"
    explain_without_go "building $name failed (output above)"
    return 1
  fi
  mv -f "$staging/$name" "$target"
  rm -rf "$staging"
  shout "built $name $version in $((SECONDS - start)) s: $target"
}

total_start=$SECONDS
for name in "${wanted[@]}"; do
  case "$name" in
    # Minutes measured on a 2-core machine with an empty Go module cache (bench/build-servers.ts).
    temporal) build temporal "$TEMPORAL_MODULE" "$TEMPORAL_PACKAGE" "$TEMPORAL_VERSION" 4 ;;
    minio) build minio "$MINIO_MODULE" "$MINIO_PACKAGE" "$MINIO_VERSION" 3 ;;
  esac
done
say "${wanted[*]} ready in $bin_dir ($((SECONDS - total_start)) s)"
