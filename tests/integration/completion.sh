#!/usr/bin/env bash
# bash completion (completion/rankwrap.bash): every option `rankwrap --help`
# lists is offered, and only those; subcommands; `plan`'s own options;
# option values; after PROGRAM, the program's own completion takes over.
source "$(dirname "$0")/lib.sh"
script=$RANKWRAP_SOURCE_DIR/completion/rankwrap.bash
[ -r /usr/share/bash-completion/bash_completion ] || fail "bash-completion is not installed (scripts/install-deps)"

# complete WORDS...: COMPREPLY for the command line WORDS (the last is being typed), sorted, one line.
complete_line() {
  clean_env bash -c '
    source /usr/share/bash-completion/bash_completion
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _rankwrap rankwrap "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort -u | tr "\n" " "' _ "$script" "$@"
}

help_options=$(clean_env "$RANKWRAP" --help | grep -oE '^  --[a-z-]+|^  -h \[ --help \]' | sed 's/.*--\([a-z-]*\).*/--\1/;s/^ *//' | sort -u | tr '\n' ' ')
plan_only=" --ranks-per-node --svg "
offered=$(complete_line rankwrap --)
want=$(for o in $help_options; do [[ "$plan_only" == *" $o "* ]] || echo "$o"; done | sort -u | tr '\n' ' ')
[ "$offered" = "$want" ] && pass "rankwrap --<TAB> offers exactly the options of --help ($(wc -w <<< "$want"))" \
  || fail "completion options differ from --help:
offered: $offered
--help:  $want"
out=$(complete_line rankwrap hostl)
[ "$out" = "hostlist " ] && pass "subcommand: rankwrap hostl<TAB> -> hostlist" || fail "subcommand: '$out'"
out=$(complete_line rankwrap pl)
[[ " $out" == *" plan "* ]] && pass "subcommand: rankwrap pl<TAB> offers plan (and commands: PROGRAM may come first)" || fail "plan: '$out'"
out=$(complete_line rankwrap plan --)
for o in --ranks-per-node --svg --cpu-bind --topology --json --help; do
  [[ " $out" == *" $o "* ]] || fail "plan --<TAB> lacks $o: $out"
done
[[ " $out" != *" --nproc "* ]] && pass "plan --<TAB>: the plan's options, not --nproc" || fail "plan offers --nproc: $out"
out=$(complete_line rankwrap --cpu-bind n)
[ "$out" = "none numa " ] && pass "--cpu-bind n<TAB> -> none numa" || fail "cpu-bind values: '$out'"
launchers=$(clean_env "$RANKWRAP" --help | sed -n '/^Launchers/,/^$/p' | sed -n 's/^  \([a-z-]*\): .*/\1/p' | sort | tr '\n' ' ')
out=$(complete_line rankwrap --launcher '')
[ "$out" = "$launchers" ] && pass "--launcher <TAB>: the launchers of --help" || fail "launchers: '$out' vs --help '$launchers'"
out=$(complete_line rankwrap --nproc 4 ech)
[[ " $out" == *" echo "* ]] && pass "PROGRAM position completes commands" || fail "program: '$out'"
out=$(complete_line rankwrap --nproc 4 ls --al)
[[ " $out" == *" --all "* && " $out" != *" --nproc "* ]] && pass "after PROGRAM, the program's own completion" || fail "after program: '$out'"
finish
