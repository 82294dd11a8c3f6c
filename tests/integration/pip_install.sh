#!/usr/bin/env bash
# `pip install --no-build-isolation .` with Debian's pip and setuptools, no
# network: the package is built by setup.py's CMake build_ext (here in this
# build tree, RANKWRAP_CMAKE_BUILD_DIR, so it takes seconds) from a copy of
# the checked-in sources, installed with --target, and imported from there.
source "$(dirname "$0")/lib.sh"
: "${RANKWRAP_BUILD_DIR:?set by ctest}"
PY=${RANKWRAP_PYTHON:?set by ctest: the interpreter the module is built for}
version=$("$RANKWRAP" --version | head -1 | cut -d' ' -f2)
{ "$PY" -c "import setuptools, wheel" && "$PY" -m pip --version; } > /dev/null 2>&1 || fail "$PY lacks pip, setuptools or wheel (scripts/install-deps installs python3-pip, python3-setuptools, python3-wheel)"
mkdir "$WORK/src"
git -C "$RANKWRAP_SOURCE_DIR" ls-files -z | (cd "$RANKWRAP_SOURCE_DIR" && xargs -0 cp -P --parents -t "$WORK/src") \
  || fail "copying the checked-in sources (git ls-files) failed"
set +e
clean_env RANKWRAP_CMAKE_BUILD_DIR="$RANKWRAP_BUILD_DIR" "$PY" -m pip install --no-build-isolation --no-deps --no-index \
  --target "$WORK/site" "$WORK/src" > "$WORK/pip.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 0 ] && pass "pip install --no-build-isolation --target" || fail "pip install (exit $rc): $(tail -30 "$WORK/pip.log")"
out=$(clean_env PYTHONPATH="$WORK/site" "$PY" -c 'import rankwrap; print(rankwrap.__version__, rankwrap.__file__)' 2>&1)
[ "$out" = "$version $WORK/site/rankwrap/__init__.py" ] && pass "the pip-installed package imports ($out)" || fail "import: $out"
for f in __init__.pyi py.typed; do
  [ -e "$WORK/site/rankwrap/$f" ] && pass "pip installed rankwrap/$f" || fail "pip did not install rankwrap/$f"
done
meta=$(ls -d "$WORK"/site/rankwrap-"$version".dist-info 2>/dev/null || true)
[ -n "$meta" ] && pass "dist-info says version $version" || fail "no rankwrap-$version.dist-info in $WORK/site: $(ls "$WORK/site")"
out=$(clean_env PYTHONPATH="$WORK/site" RANKWRAP_MASTER_PORT=23456 "$PY" -c 'import rankwrap; print(rankwrap.detect()["MASTER_PORT"])' 2>&1)
[ "$out" = 23456 ] && pass "detect() from the pip-installed package" || fail "detect: $out"
finish
