#!/usr/bin/env bash
# Builds the HotSpot disassembler plugin (hsdis.c, on capstone) and installs it into the JDK, so that
# -XX:+UnlockDiagnosticVMOptions -XX:CompileCommand=print,CLASS::METHOD prints C2's machine code.
# Needs gcc and libcapstone-dev (apt-get install gcc libcapstone-dev). Usage: dev/hsdis/build.sh [JAVA_HOME]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jdk="${1:-${JAVA_HOME:?set JAVA_HOME or pass the JDK folder}}"
[ -d "$jdk/lib/server" ] || { echo "build.sh: no $jdk/lib/server: not a JDK folder" >&2; exit 2; }
gcc -O2 -shared -fPIC -o "$jdk/lib/server/hsdis-amd64.so" "$here/hsdis.c" -lcapstone
echo "installed $jdk/lib/server/hsdis-amd64.so"
