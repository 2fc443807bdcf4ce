#!/usr/bin/env bash
# Sets up, once per machine, what `npm test` needs beyond npm packages; later runs find it all
# current and print nothing. `npm test` runs it before mocha, and so does CI through `npm test`.
#
#   - the Temporal CLI and MinIO servers (scripts/build-servers.sh, per-user cache)
#   - NVIDIA's Python tritonclient in a virtual environment: ~/.cache/mlpipe/tritonclient-venv
#   - scikit-learn, skl2onnx, onnx and pyarrow (pinned) in that same venv, for the Trainer's
#     bring-your-own-script test (test/fixtures/trainer-scripts/)
#   - NVIDIA's perf_analyzer (x86-64 Linux only): ~/.cache/mlpipe/perf-analyzer, needing libb64
#   - Debian's chromium, which the Temporal Web UI test drives
#
# System packages (chromium, libb64-0d) come from apt when this runs as root, or with sudo that
# needs no password; otherwise it stops with one line naming the command to run.
#
#   MLPIPE_TEST_SKIP=tritonclient,sklearn,perf_analyzer,chromium   leave these out; their tests then
#                                                           skip, saying so (CI never sets it)
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${XDG_CACHE_HOME:-$HOME/.cache}/mlpipe"
venv="$cache/tritonclient-venv"
# What apt and pip print goes here, and is shown only when they fail.
log="$cache/setup-test-tools.log"
mkdir -p "$cache"
: >"$log"

say() { echo "setup-test-tools: $*" >&2; }
stop() { # what is missing, the command that fixes it
  [ -s "$log" ] && { tail -n 20 "$log" >&2; say "(the last lines of $log)"; }
  say "npm test needs $1. Run: $2"
  say "(or set MLPIPE_TEST_SKIP=$3 to skip the tests that need it)"
  exit 1
}
skipped() { [[ ",${MLPIPE_TEST_SKIP:-}," == *",$1,"* ]]; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1
  fi
}

apt_updated=0
apt_install() { # package...
  command -v apt-get >/dev/null 2>&1 || return 1
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq >>"$log" 2>&1 || return 1
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >>"$log" 2>&1
}

bash scripts/build-servers.sh --quiet

if ! skipped chromium && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  say "installing Debian's chromium for the Temporal Web UI test (about a minute, once)"
  apt_install chromium || stop "Chromium for the Temporal Web UI test" "sudo apt-get install -y chromium" chromium
fi

if ! skipped tritonclient && ! "$venv/bin/python" -c 'import tritonclient.http, tritonclient.grpc, numpy' 2>/dev/null; then
  say "installing NVIDIA's tritonclient into $venv (about 30 s, once)"
  { python3 -m venv "$venv" >>"$log" 2>&1 && "$venv/bin/pip" install -q 'tritonclient[http,grpc]' numpy >>"$log" 2>&1; } ||
    stop "NVIDIA's tritonclient in $venv" "python3 -m venv $venv && $venv/bin/pip install 'tritonclient[http,grpc]' numpy (Debian: apt-get install python3-venv first)" tritonclient
fi

# Pinned, and checked by version (no imports: quick), so a changed pin installs again.
sklearn_pins=(scikit-learn==1.9.1 skl2onnx==1.20.0 onnx==1.23.2 pyarrow==26.0.1)
pinned() { # name==version...
  "$venv/bin/python" - "$@" <<'EOF' 2>/dev/null
import sys, importlib.metadata as m
sys.exit(any(m.version(name) != version for name, version in (pin.split('==') for pin in sys.argv[1:])))
EOF
}
if ! skipped sklearn && ! pinned "${sklearn_pins[@]}"; then
  say "installing scikit-learn, skl2onnx, onnx and pyarrow into $venv (about 30 s, once)"
  { { [ -x "$venv/bin/pip" ] || python3 -m venv "$venv" >>"$log" 2>&1; } && "$venv/bin/pip" install -q "${sklearn_pins[@]}" >>"$log" 2>&1; } ||
    stop "scikit-learn and skl2onnx in $venv" "$venv/bin/pip install ${sklearn_pins[*]}" sklearn
fi

if ! skipped perf_analyzer && [ "$(uname -m)" = x86_64 ] && [ ! -x "$cache/perf-analyzer/perf_analyzer" ]; then
  ldconfig_bin="$(command -v ldconfig || echo /sbin/ldconfig)"
  if [ "$("$ldconfig_bin" -p 2>/dev/null | grep -c 'libb64\.so\.0d')" = 0 ]; then
    say "installing libb64 for NVIDIA's perf_analyzer"
    apt_install libb64-0d || stop "libb64 for NVIDIA's perf_analyzer" "sudo apt-get install -y libb64-0d" perf_analyzer
  fi
  say "installing NVIDIA's perf_analyzer into $cache/perf-analyzer (about 30 s, once)"
  # Its downloads need only a pip; the venv's is there unless tritonclient was skipped.
  if [ -x "$venv/bin/pip" ]; then export PIP="$venv/bin/pip"; fi
  bash scripts/install-perf-analyzer.sh "$cache/perf-analyzer" >>"$log" 2>&1 ||
    stop "NVIDIA's perf_analyzer" "bash scripts/install-perf-analyzer.sh" perf_analyzer
fi
