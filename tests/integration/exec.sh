#!/usr/bin/env bash
# Exec: PATH lookup without a shell, arguments verbatim, the contract in the
# program's environment, signal dispositions and mask reset, 126/127.
source "$(dirname "$0")/lib.sh"
RW=$RANKWRAP

out=$(clean_env "$RW" printenv RANK WORLD_SIZE RANKWRAP_LAUNCHER)
[ "$out" = $'0\n1\nstandalone' ] && pass "contract reaches the program" || fail "contract: $out"

out=$(clean_env "$RW" -- printf '%s|' '$HOME' 'a b' '*' '--explain')
[ "$out" = '$HOME|a b|*|--explain|' ] && pass "arguments verbatim, no shell" || fail "args: $out"

out=$(clean_env USER_TUNABLE=keep OMP_NUM_THREADS=3 "$RW" printenv USER_TUNABLE OMP_NUM_THREADS)
[ "$out" = $'keep\n3' ] && pass "other variables untouched" || fail "tunables: $out"

set +e
clean_env "$RW" sh -c 'exit 7'; rc=$?
set -e
[ "$rc" -eq 7 ] && pass "program's exit code" || fail "exit code $rc"

set +e; err=$(clean_env "$RW" no-such-program-xyz 2>&1); rc=$?; set -e
[ "$rc" -eq 127 ] && [[ "$err" == *"'no-such-program-xyz' not found"* ]] && pass "127 not found" || fail "not found: $rc $err"
printf 'echo hi\n' > "$WORK/noexec"; chmod 644 "$WORK/noexec"
set +e; err=$(clean_env "$RW" "$WORK/noexec" 2>&1); rc=$?; set -e
[ "$rc" -eq 126 ] && [[ "$err" == *"$WORK/noexec"* ]] && pass "126 not executable" || fail "noexec: $rc $err"
mkdir "$WORK/bin"; printf '#!/bin/sh\necho found-in-path\n' > "$WORK/bin/mytool"; chmod 755 "$WORK/bin/mytool"
out=$(env -i PATH="$WORK/bin:/usr/bin:/bin" "$RW" mytool)
[ "$out" = found-in-path ] && pass "PATH lookup" || fail "PATH lookup: $out"

# Ignored and blocked signals in the launcher do not reach the program.
status=$(clean_env bash -c 'trap "" INT QUIT TERM; exec "$0" grep -E "^Sig(Ign|Blk)" /proc/self/status' "$RW")
ign=$(printf '%s\n' "$status" | awk '/SigIgn/ {print $2}')
blk=$(printf '%s\n' "$status" | awk '/SigBlk/ {print $2}')
[ "$ign" = 0000000000000000 ] && pass "signal dispositions reset" || fail "SigIgn=$ign"
[ "$blk" = 0000000000000000 ] && pass "signal mask empty" || fail "SigBlk=$blk"
finish
