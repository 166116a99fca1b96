#!/usr/bin/env bash
# llama.cpp as Debian unstable packages it (libggml0 with one CPU backend per x86 level, llama.cpp-tools),
# unpacked into a folder with the glibc and libstdc++ it was built against and run through that glibc's
# loader: a native peer for machines the ../shared build cannot run (its quantized paths use AVX-VNNI,
# `{vex} vpdpbusd`, which Zen 4 lacks: it has the AVX512-VNNI form). Needs deb.debian.org or a mirror.
#
#   dev/debian-llama.sh DIR fetch                     download and unpack (about 20 MB)
#   dev/debian-llama.sh DIR llama-bench ARGS...       run a tool (llama-bench, llama-batched-bench, llama-quantize, ...)
#   dev/debian-llama.sh DIR compare FILE [-p 64] [-n 32] [-r 3] [-t 2]
#                                                     llama-bench and bin/qwen4j bench on one file, one run
#
# The CPU backend is the best of Debian's variants for this CPU (zen4, skylakex, haswell, sse42);
# GGML_BACKEND_PATH=FILE.so picks another (e.g. .../libggml-cpu-haswell.so: its AVX2 build).
set -euo pipefail
dir="${1:?usage: debian-llama.sh DIR fetch | DIR TOOL [ARGS...] | DIR compare FILE [-p N] [-n N] [-r N] [-t N]}"
cmd="${2:?usage: debian-llama.sh DIR fetch | DIR TOOL [ARGS...] | DIR compare FILE}"; shift 2
root="$dir/root"; lib="$root/usr/lib/x86_64-linux-gnu"

fetch() {
  local apt="$dir/apt"
  mkdir -p "$apt/lists/partial" "$root"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main" > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$apt/lists")
  apt-get "${opts[@]}" update -qq
  (cd "$dir" && apt-get "${opts[@]}" download -qq libggml0 libllama0 llama.cpp-tools llama.cpp-tools-extra libc6 libgcc-s1 libgomp1 libstdc++6 libssl3t64 2> /dev/null)
  for deb in "$dir"/*.deb; do dpkg -x "$deb" "$root"; done
  run llama-bench --version 2>&1 | grep -E "^(version|built)" || true
}

backend() {
  if [ -n "${GGML_BACKEND_PATH:-}" ]; then echo "$GGML_BACKEND_PATH"; return; fi
  local flags; flags=$(grep -m1 '^flags' /proc/cpuinfo)
  local v=sse42
  if [[ $flags == *avx512_vnni* && $flags == *avx512_bf16* ]]; then v=zen4
  elif [[ $flags == *avx512f* ]]; then v=skylakex
  elif [[ $flags == *avx2* ]]; then v=haswell; fi
  echo "$lib/ggml/backends0/libggml-cpu-$v.so"
}

run() {
  local tool="$1"; shift
  [ -x "$root/usr/bin/$tool" ] || { echo "debian-llama: no $tool in $root (run: $0 $dir fetch)" >&2; exit 2; }
  GGML_BACKEND_PATH="$(backend)" "$lib/ld-linux-x86-64.so.2" --library-path "$lib:$lib/llama" "$root/usr/bin/$tool" "$@"
}

compare() {
  local model="${1:?compare FILE}"; shift
  local p=64 n=32 r=3 t=2
  while [ $# -gt 0 ]; do
    case "$1" in
      -p) p="$2"; shift 2;; -n) n="$2"; shift 2;; -r) r="$2"; shift 2;; -t) t="$2"; shift 2;;
      *) echo "debian-llama: unknown option $1" >&2; exit 2;;
    esac
  done
  [ -f "$model" ] || { echo "debian-llama: no such file: $model" >&2; exit 2; }
  cat "$model" > /dev/null # both engines read from the page cache
  local peer mine
  peer=$(run llama-bench -m "$model" -t "$t" -p "$p" -n "$n" -r "$r" -o json 2> /dev/null)
  mine=$(bin/qwen4j bench -m "$model" -p "$p" -n "$n" -r "$r" --threads "$t" --json 2> /dev/null)
  python3 - "$peer" "$mine" "$model" "$(basename "$(backend)" .so)" <<'PY'
import json, os, sys
peer, mine, model, variant = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
pp = next(x["avg_ts"] for x in peer if x["n_prompt"] > 0)
tg = next(x["avg_ts"] for x in peer if x["n_gen"] > 0)
qpp, qtg = mine.get("pp_tokens_per_s") or 0, mine.get("tg_tokens_per_s") or 0
print(f"{os.path.basename(model)} (llama.cpp {peer[0].get('build_commit', '?')} {peer[0].get('build_number', '?')}, {variant})")
print(f"  prefill  qwen4j {qpp:8.2f} tok/s   llama.cpp {pp:8.2f} tok/s   ratio {qpp / pp:.2f}")
print(f"  decode   qwen4j {qtg:8.2f} tok/s   llama.cpp {tg:8.2f} tok/s   ratio {qtg / tg:.2f}")
PY
}

case "$cmd" in
  fetch) fetch;;
  compare) compare "$@";;
  *) run "$cmd" "$@";;
esac
