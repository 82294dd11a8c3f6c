# Shared by the integration tests: paths come from CTest's environment.
set -euo pipefail
: "${RANKWRAP:?set by ctest: path of the rankwrap binary}"
: "${RANKWRAP_SOURCE_DIR:?set by ctest}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rankwrap-test.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# check NAME COMMAND...: passes when COMMAND exits 0.
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
finish() { if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi; echo "all checks passed"; }
# A clean environment with no launcher variables from whoever runs the tests
# (the sanitizer settings of an ASan/UBSan run are kept).
KEEP_ENV=()
for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS HWLOC_COMPONENTS OMPI_MCA_mca_base_component_disable_dlclose; do
  [ -n "${!v:-}" ] && KEEP_ENV+=("$v=${!v}")
done
clean_env() { env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="${HOME:-/root}" "${KEEP_ENV[@]}" "$@"; }
