#!/usr/bin/env bash
# Installs NVIDIA's perf_analyzer (the load tool Triton users run) into the per-user cache, for the
# compatibility test in test/serving/perf-analyzer.test.ts. The binary ships in the tritonclient
# 2.41.0 wheel (later wheels dropped it); it links libb64 (Debian: libb64-0d) and the CUDA runtime
# library, which it loads on any machine (pip: nvidia-cuda-runtime-cu12), GPU or not.
#   bash scripts/install-perf-analyzer.sh [DIR]   (default: ~/.cache/mlpipe/perf-analyzer)
# PIP names the pip to download with (default: python3 -m pip).
# Prints the path of a wrapper to run; exits non-zero when something cannot be installed.
set -euo pipefail

dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mlpipe/perf-analyzer}"
wrapper="$dir/perf_analyzer"
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi

if [ "$(uname -m)" != x86_64 ]; then
  echo "perf_analyzer is published for x86-64 Linux only (this machine: $(uname -m))" >&2
  exit 1
fi
# ldconfig lives in /sbin, which a normal user's PATH may lack; grep -c reads all of its output, so
# ldconfig is never cut off by a closed pipe (which pipefail would report as a failure).
ldconfig_bin="$(command -v ldconfig || echo /sbin/ldconfig)"
if [ "$("$ldconfig_bin" -p 2>/dev/null | grep -c 'libb64\.so\.0d')" = 0 ]; then
  echo "perf_analyzer needs libb64.so.0d: apt-get install libb64-0d" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pip_cmd=(${PIP:-python3 -m pip})
"${pip_cmd[@]}" download -q --no-deps --only-binary=:all: --platform manylinux1_x86_64 --python-version 3.11 \
  -d "$work" 'tritonclient==2.41.0' >&2
"${pip_cmd[@]}" download -q --no-deps --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.11 \
  -d "$work" 'nvidia-cuda-runtime-cu12==12.9.79' >&2

mkdir -p "$dir/lib"
python3 - "$work" "$dir" <<'PY'
import glob, os, sys, zipfile
work, out = sys.argv[1], sys.argv[2]
def take(pattern, member_suffix, target):
    wheel = glob.glob(os.path.join(work, pattern))[0]
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(member_suffix))
        with z.open(name) as src, open(target, "wb") as dst:
            dst.write(src.read())
    os.chmod(target, 0o755)
take("tritonclient-*.whl", "/bin/perf_analyzer", os.path.join(out, "lib", "perf_analyzer.bin"))
take("nvidia_cuda_runtime_cu12-*.whl", "/lib/libcudart.so.12", os.path.join(out, "lib", "libcudart.so.12"))
PY

cat > "$wrapper" <<'SH'
#!/usr/bin/env bash
here="$(cd "$(dirname "$0")" && pwd)"
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/lib/perf_analyzer.bin" "$@"
SH
chmod +x "$wrapper"
"$wrapper" --version >/dev/null 2>&1
echo "$wrapper"
