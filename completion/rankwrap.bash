# bash completion for rankwrap (installed as
# share/bash-completion/completions/rankwrap; bash-completion loads it the
# first time `rankwrap <TAB>` is pressed). tests/integration/completion.sh
# checks that every option of `rankwrap --help` is offered here.

_rankwrap() {
  local cur prev words cword
  _init_completion -s || return

  local options="--help --version --explain --launcher --master-addr --master-port --dry-run --print-env --json
    --bind --gpu-bind --gpu-visibility --cpu-bind --mem-bind --topology --report
    --nccl-bootstrap --bootstrap-timeout --nccl-comm-id
    --nproc --supervise --tag-output --log-dir --tee --ranks-filter --local-ranks-filter --grace --failure-file --max-restarts
    --signal-map --plane --requeue --restart-backoff
    --preflight --preflight-cmd"
  local plan_options="--help --ranks-per-node --svg --json --bind --gpu-bind --gpu-visibility --cpu-bind
    --mem-bind --topology"
  local launchers="alps aws-batch azure-batch flux gcp-batch gridengine hydra inherited kubeflow lsf mvapich ompi
    pals pbs prrte pytorchjob rankwrap skypilot slurm standalone torchrun"

  # The first word that is not an option (or follows --) is PROGRAM: from
  # there on, complete as that program would.
  local i command=""
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      plan | preflight | hostnames | hostlist) [[ $i -eq 1 ]] && command=${words[i]} && continue ;;
      --) _command_offset $((i + 1)); return ;;
      --launcher | --master-addr | --master-port | --bind | --gpu-bind | --gpu-visibility | --cpu-bind | --mem-bind | \
        --topology | --nccl-bootstrap | --bootstrap-timeout | --nproc | --log-dir | --ranks-filter | --local-ranks-filter | --grace | \
        --failure-file | --max-restarts | --restart-backoff | --signal-map | --plane | --preflight-cmd | --ranks-per-node | --svg)
        ((i++)); continue ;;
      -*) continue ;;
    esac
    [[ -z $command ]] && { _command_offset "$i"; return; }
  done

  case $prev in
    --launcher) COMPREPLY=($(compgen -W "$launchers" -- "$cur")); return ;;
    --bind) COMPREPLY=($(compgen -W "auto none" -- "$cur")); return ;;
    --gpu-bind) COMPREPLY=($(compgen -W "closest map: none" -- "$cur")); compopt -o nospace; return ;;
    --gpu-visibility) COMPREPLY=($(compgen -W "single reorder local-rank" -- "$cur")); return ;;
    --cpu-bind) COMPREPLY=($(compgen -W "auto gpu numa cores none" -- "$cur")); return ;;
    --mem-bind) COMPREPLY=($(compgen -W "local prefer strict none" -- "$cur")); return ;;
    --nccl-bootstrap) COMPREPLY=($(compgen -W "mpi tcp none" -- "$cur")); return ;;
    --plane) COMPREPLY=($(compgen -W "auto munge secret insecure off" -- "$cur")); return ;;
    --topology) _filedir xml; return ;;
    --svg) _filedir svg; return ;;
    --log-dir) _filedir -d; return ;;
    --failure-file) _filedir; return ;;
    --master-addr) _known_hosts_real -- "$cur"; return ;;
    --master-port | --nproc | --bootstrap-timeout | --ranks-filter | --grace | --max-restarts | --restart-backoff | --signal-map | \
      --ranks-per-node) return ;;
    --preflight-cmd) COMPREPLY=($(compgen -c -- "$cur")); return ;;
  esac

  case $command in
    plan) COMPREPLY=($(compgen -W "$plan_options" -- "$cur")); return ;;
    preflight) COMPREPLY=($(compgen -W "$options" -- "$cur")); return ;;
    hostnames | hostlist) COMPREPLY=($(compgen -W "--help" -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  elif [[ $cword -eq 1 ]]; then
    COMPREPLY=($(compgen -W "plan preflight hostnames hostlist" -- "$cur"))
    COMPREPLY+=($(compgen -c -- "$cur"))
  else
    COMPREPLY=($(compgen -c -- "$cur"))
  fi
} && complete -F _rankwrap rankwrap
