#!/usr/bin/env bash
# Fuzzes each given target (Class#method) for SECONDS (default 60) with Jazzer, one JVM per
# target, and prints one summary line per target: runs, seconds, coverage, finding or not.
# Findings are written by Jazzer into <module>/src/test/resources/<package>/<Class>Inputs/<method>/crash-*,
# where the normal test run replays them. Logs: target/fuzz/<target>.log. Extra Maven
# arguments: FUZZ_MVN_ARGS (e.g. -Dqwen4j.shared=/path/to/shared).
#   qwen4j-core/src/test/fuzz/fuzz.sh 60                      # every target
#   qwen4j-core/src/test/fuzz/fuzz.sh 30 GgufFuzzTest#metadata
set -u
cd "$(dirname "$0")/../../../.."
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(GgufFuzzTest#metadata GgufFuzzTest#tensorTable SafetensorsFuzzTest#safetensorsFile
           SafetensorsFuzzTest#indexJson ConfigFuzzTest#configJson ConfigFuzzTest#generationConfigJson
           TokenizerFuzzTest#tokenizerJson TokenizerFuzzTest#vocabAndMerges TokenizerFuzzTest#roundTrip
           TokenizerFuzzTest#arbitraryBytes ChatTemplateFuzzTest#hostileMessages
           ChatTemplateFuzzTest#hostileTemplate RequestFuzzTest#requestBody)
fi
mkdir -p target/fuzz
for t in "${TARGETS[@]}"; do
  log="target/fuzz/${t/\#/.}.log"
  # only the "fuzz" surefire execution: -Dtest would otherwise run the target once per execution
  JAZZER_FUZZ=1 ./mvnw -B -o -q test-compile surefire:test@fuzz -Dtest="$t" -Dsurefire.failIfNoSpecifiedTests=false \
      -Djazzer.max_duration="${SECONDS_PER_TARGET}s" ${FUZZ_MVN_ARGS:-} > "$log" 2>&1
  rc=$?
  done_line=$(grep -a -m1 '^Done [0-9]* runs' "$log")
  cov=$(grep -a 'cov: ' "$log" | tail -1 | sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([^ ]+).*/cov \1, features \2, corpus \3/')
  finding=$(grep -a -m1 -o 'FuzzTestFindingException: .*' "$log" | cut -c1-160)
  echo "$t: ${done_line:-no Done line} ($cov) rc=$rc ${finding:+FINDING: $finding}"
done
