#!/usr/bin/env bash
# cmake --install into a scratch prefix, then everything a cluster user does
# with it: the files are there; `module load rankwrap` (Lmod, from the .lua
# file and, in a moved copy, from the Tcl file) sets PATH, MANPATH,
# PYTHONPATH, CMAKE_PREFIX_PATH, PKG_CONFIG_PATH and the completion path; an
# outside project builds with find_package(rankwrap) and with pkg-config;
# `import rankwrap` is the installed package with its version and stubs;
# bash completion loads by itself; the installed binary runs and finds its
# MPI module.
source "$(dirname "$0")/lib.sh"
: "${RANKWRAP_BUILD_DIR:?set by ctest}"
here=$(cd "$(dirname "$0")" && pwd)
prefix=$WORK/prefix
version=$("$RANKWRAP" --version | head -1 | cut -d' ' -f2)
cmake --install "$RANKWRAP_BUILD_DIR" --prefix "$prefix" > "$WORK/install.log"
files=(bin/rankwrap share/man/man1/rankwrap.1 include/rankwrap/contract.h include/rankwrap/nccl.h
       lib/cmake/rankwrap/rankwrapConfig.cmake lib/librankwrap_cpp.a lib/rankwrap/librankwrap_mpi_openmpi.so
       lib/pkgconfig/rankwrap.pc "share/modulefiles/rankwrap/$version.lua" "share/modulefiles/rankwrap/$version"
       share/bash-completion/completions/rankwrap share/doc/rankwrap/README.md share/doc/rankwrap/install.md
       share/doc/rankwrap/cli-compat.md share/doc/rankwrap/user-guide.md)
# The Python package, where the build put it (RANKWRAP_PYTHON_INSTALL_DIR);
# the ASan build has none by choice (RANKWRAP_BUILD_PYTHON=OFF).
pydir=${RANKWRAP_PYTHON_INSTALL_DIR:-}
if [ -n "$pydir" ]; then
  files+=("$pydir/rankwrap/__init__.py" "$pydir/rankwrap/__init__.pyi" "$pydir/rankwrap/py.typed")
  ls "$prefix/$pydir"/rankwrap/_rankwrap*.so >/dev/null 2>&1 && pass "installed the extension" || fail "no _rankwrap*.so"
else
  echo "note: this build has no Python module (RANKWRAP_BUILD_PYTHON=OFF): the Python checks are not run"
fi
for f in "${files[@]}"; do
  [ -e "$prefix/$f" ] && pass "installed $f" || fail "missing $f"
done
man -l "$prefix/share/man/man1/rankwrap.1" 2>/dev/null > "$WORK/man.txt" || true
for section in ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
  grep -q "^$section" "$WORK/man.txt" && pass "man page: $section" || fail "man page lacks $section"
done

# Lmod: the module file alone makes the installed tree usable.
[ -r /usr/share/lmod/lmod/init/bash ] || fail "Lmod is not installed (scripts/install-deps installs lmod)"
in_module() {  # MODULEPATH COMMANDS: run COMMANDS in a clean shell after module load rankwrap
  clean_env bash -c "source /usr/share/lmod/lmod/init/bash; module use '$1'; module load rankwrap || exit 9; $2" 2>&1
}
out=$(in_module "$prefix/share/modulefiles" 'which rankwrap; man -w rankwrap; echo "MANPATH=$MANPATH"; echo "CMAKE_PREFIX_PATH=$CMAKE_PREFIX_PATH"; echo "pkg-config: $(pkg-config --modversion rankwrap)"')
want="$prefix/bin/rankwrap
$prefix/share/man/man1/rankwrap.1"
[ "$(printf '%s\n' "$out" | head -2)" = "$want" ] && pass "module load (lua): which rankwrap, man -w rankwrap" || fail "module load (lua): $out"
[[ "$out" == *"MANPATH=$prefix/share/man:"* ]] && pass "module load: MANPATH (man's own path kept)" || fail "MANPATH: $out"
[[ "$out" == *"CMAKE_PREFIX_PATH=$prefix"* ]] && pass "module load: CMAKE_PREFIX_PATH" || fail "CMAKE_PREFIX_PATH: $out"
[[ "$out" == *"pkg-config: $version"* ]] && pass "module load: pkg-config finds rankwrap $version" || fail "pkg-config: $out"
out=$(in_module "$prefix/share/modulefiles" 'module unload rankwrap; command -v rankwrap || echo gone')
[ "$out" = "gone" ] && pass "module unload removes it from PATH" || fail "module unload: $out"
# The Tcl file (what Environment Modules reads), in a moved copy of the tree:
# the prefix is found from the file's own place.
cp -a "$prefix" "$WORK/moved"
rm "$WORK/moved/share/modulefiles/rankwrap/$version.lua"
out=$(in_module "$WORK/moved/share/modulefiles" 'which rankwrap; man -w rankwrap; echo "$RANKWRAP_MPI_MODULE_DIR"')
want="$WORK/moved/bin/rankwrap
$WORK/moved/share/man/man1/rankwrap.1
$WORK/moved/lib/rankwrap"
[ "$out" = "$want" ] && pass "module load (tcl, moved tree): PATH, MANPATH, the MPI module directory" || fail "module load (tcl): $out"
if [ -n "$pydir" ]; then
  out=$(in_module "$prefix/share/modulefiles" 'python3 -c "import rankwrap; print(rankwrap.__version__, rankwrap.__file__)"')
  [ "$out" = "$version $prefix/$pydir/rankwrap/__init__.py" ] && pass "module load: import rankwrap is the installed package" || fail "import: $out"
  out=$(in_module "$WORK/moved/share/modulefiles" 'python3 -c "import rankwrap; print(rankwrap.__file__)"')
  [ "$out" = "$WORK/moved/$pydir/rankwrap/__init__.py" ] && pass "module load (tcl): PYTHONPATH" || fail "tcl import: $out"
  # The stubs describe exactly what the module has.
  out=$(clean_env PYTHONPATH="$prefix/$pydir" "${RANKWRAP_PYTHON:-python3}" - "$prefix/$pydir/rankwrap/__init__.pyi" <<'PY'
import ast, sys, rankwrap
tree = ast.parse(open(sys.argv[1]).read())
stubbed = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
stubbed |= {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
public = set(rankwrap.__all__) | {"__all__"}
print("same" if stubbed == public else f"stubs {sorted(stubbed)} != module {sorted(public)}")
PY
)
  [ "$out" = same ] && pass "type stubs name what the module has" || fail "$out"
  out=$(clean_env PYTHONPATH="$prefix/$pydir" "$prefix/bin/rankwrap" --bind none "${RANKWRAP_PYTHON:-python3}" -c 'import rankwrap; c = rankwrap.contract(); print(c.rank, c.world_size, c.launcher)')
  [ "$out" = "0 1 standalone" ] && pass "the installed module reads the installed binary's contract" || fail "contract: $out"
fi

# bash completion: loaded by bash-completion itself from the module's XDG_DATA_DIRS.
out=$(in_module "$prefix/share/modulefiles" 'source /usr/share/bash-completion/bash_completion; __load_completion rankwrap; complete -p rankwrap')
[ "$out" = "complete -F _rankwrap rankwrap" ] && pass "module load: bash completion loads" || fail "completion: $out"

# An outside project: find_package(rankwrap) through the module's
# CMAKE_PREFIX_PATH, and the same program through pkg-config.
# A sanitizer build installs instrumented libraries: the outside project links the runtime too.
san=() sanflag=""
[ -n "${RANKWRAP_SANITIZE:-}" ] && san=("-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=$RANKWRAP_SANITIZE") sanflag="-fsanitize=$RANKWRAP_SANITIZE"
in_module "$prefix/share/modulefiles" "cmake -S '$here/outside' -B '$WORK/outside' ${san[*]} && cmake --build '$WORK/outside'" \
  > "$WORK/outside.log" 2>&1 && pass "an outside project builds with find_package(rankwrap) (module loaded)" \
  || fail "outside project: $(tail -20 "$WORK/outside.log")"
out=$(clean_env "$prefix/bin/rankwrap" "$WORK/outside/uses_rankwrap")
[ "$out" = "outside project: rank 0 of 1 via standalone" ] && pass "it runs under the installed rankwrap" || fail "run: $out"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" c++ -std=c++20 $sanflag $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags rankwrap) \
  "$here/outside/main.cc" -o "$WORK/uses_pc" $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --libs rankwrap) 2> "$WORK/pc.log" \
  && pass "the outside program builds with pkg-config rankwrap" || fail "pkg-config build: $(cat "$WORK/pc.log")"
out=$(clean_env "$prefix/bin/rankwrap" "$WORK/uses_pc")
[ "$out" = "outside project: rank 0 of 1 via standalone" ] && pass "the pkg-config build runs" || fail "pkg-config run: $out"

out=$(clean_env "$prefix/bin/rankwrap" --version)
[[ "$out" == *"MPI modules:"*"openmpi ($prefix/lib/rankwrap/librankwrap_mpi_openmpi.so)"* ]] \
  && pass "--version lists the installed MPI module" || fail "--version: $out"
out=$(clean_env timeout 60 mpiexec.hydra -np 2 "$prefix/bin/rankwrap" --bind none --nccl-bootstrap=mpi -- sh -c 'echo ${#RANKWRAP_NCCL_UNIQUE_ID}' 2>&1)
[ "$(printf '%s\n' "$out" | grep -c '^256$')" -eq 2 ] && pass "the installed binary finds its MPI module" || fail "installed bootstrap: $out"
finish
