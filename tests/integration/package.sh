#!/usr/bin/env bash
# CPack's packages from this build tree: the .deb is unpacked into a scratch
# root (dpkg -x, what dpkg --root installs) and run from there: --version
# finds its MPI modules, a --dry-run, the man page, `import rankwrap`; its
# control fields. The .rpm the same way (rpm2cpio), built when rpmbuild was
# there at configure time (scripts/install-deps installs it).
source "$(dirname "$0")/lib.sh"
: "${RANKWRAP_BUILD_DIR:?set by ctest}"
version=$("$RANKWRAP" --version | head -1 | cut -d' ' -f2)
cfg=$RANKWRAP_BUILD_DIR/CPackConfig.cmake
[ -f "$cfg" ] || { fail "no $cfg (include(CPack) missing?)"; finish; }
generators=$(sed -n 's/^set(CPACK_GENERATOR "\(.*\)")$/\1/p' "$cfg")

# run_root ROOT: the packaged binary, from ROOT/usr.
run_root() {
  local root=$1 kind=$2
  out=$(clean_env "$root/usr/bin/rankwrap" --version 2>&1)
  [[ "$out" == "rankwrap $version"*"MPI modules:"*"openmpi ($root/usr/lib/rankwrap/librankwrap_mpi_openmpi.so)"* ]] \
    && pass "$kind: --version from the unpacked root finds its MPI module" || fail "$kind --version: $out"
  out=$(clean_env "$root/usr/bin/rankwrap" --bind none --master-port 23456 --dry-run -- echo hi 2>&1)
  [[ "$out" == *"MASTER_PORT=23456"* && "$out" == *"echo"* ]] && pass "$kind: --dry-run" || fail "$kind --dry-run: $out"
  out=$(clean_env "$root/usr/bin/rankwrap" --bind none sh -c 'echo $RANK/$WORLD_SIZE' 2>&1)
  [ "$out" = "0/1" ] && pass "$kind: runs a program" || fail "$kind run: $out"
  for f in usr/share/man/man1/rankwrap.1 usr/share/doc/rankwrap/install.md "usr/share/modulefiles/rankwrap/$version.lua" \
           usr/share/bash-completion/completions/rankwrap usr/include/rankwrap/contract.h; do
    [ -e "$root/$f" ] && pass "$kind: has /$f" || fail "$kind: no /$f"
  done
  if [ -n "${RANKWRAP_PYTHON_INSTALL_DIR:-}" ]; then
    out=$(clean_env PYTHONPATH="$root/usr/$RANKWRAP_PYTHON_INSTALL_DIR" "${RANKWRAP_PYTHON:-python3}" -c 'import rankwrap; print(rankwrap.__version__, rankwrap.__file__)')
    [ "$out" = "$version $root/usr/$RANKWRAP_PYTHON_INSTALL_DIR/rankwrap/__init__.py" ] && pass "$kind: import rankwrap" || fail "$kind import: $out"
  fi
}

(cd "$WORK" && cpack --config "$cfg" -G DEB -B "$WORK/pkg" > "$WORK/cpack-deb.log" 2>&1) || fail "cpack -G DEB: $(tail -20 "$WORK/cpack-deb.log")"
deb=$(ls "$WORK"/pkg/rankwrap_"$version"*.deb 2>/dev/null | head -1)
if [ -n "$deb" ]; then
  pass "cpack built $(basename "$deb")"
  [ "$(dpkg-deb -f "$deb" Package)" = rankwrap ] && [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] \
    && pass "deb: Package and Version" || fail "deb control: $(dpkg-deb -f "$deb")"
  depends=$(dpkg-deb -f "$deb" Depends)
  [[ "$depends" == *libc6* ]] && pass "deb: Depends from dpkg-shlibdeps ($depends)" || fail "deb Depends: '$depends'"
  dpkg -x "$deb" "$WORK/deb-root"
  run_root "$WORK/deb-root" deb
else
  fail "no rankwrap_$version*.deb in $WORK/pkg"
fi

if [[ ";$generators;" == *";RPM;"* ]]; then
  (cd "$WORK" && cpack --config "$cfg" -G RPM -B "$WORK/rpm" > "$WORK/cpack-rpm.log" 2>&1) || fail "cpack -G RPM: $(tail -20 "$WORK/cpack-rpm.log")"
  rpm=$(ls "$WORK"/rpm/rankwrap-"$version"*.rpm 2>/dev/null | head -1)
  if [ -n "$rpm" ]; then
    pass "cpack built $(basename "$rpm")"
    mkdir -p "$WORK/rpm-root"
    (cd "$WORK/rpm-root" && rpm2cpio "$rpm" | cpio -idm --quiet) && pass "rpm unpacked" || fail "rpm2cpio | cpio"
    run_root "$WORK/rpm-root" rpm
  else
    fail "no rankwrap-$version*.rpm in $WORK/rpm"
  fi
else
  echo "note: no .rpm: rpmbuild was not found when this tree was configured (CPACK_GENERATOR=$generators)"
fi
finish
