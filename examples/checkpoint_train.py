"""A training loop that checkpoints when the scheduler warns it and resumes.

Slurm's `--signal=USR1@SECONDS` (or a preemption's SIGTERM) reaches every
rank through rankwrap; this program then writes its step to CKPT_DIR and
exits 0. With `rankwrap --requeue`, rank 0's rankwrap then requeues the job,
and the next run starts from the checkpoint (SLURM_RESTART_COUNT says which
run it is). Used by slurm/checkpoint-requeue.sbatch and pbs/checkpoint-requeue.pbs.

    CKPT_DIR=... TOTAL_STEPS=30 python3 checkpoint_train.py
"""
import json
import os
import signal
import sys
import time

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def main():
    ckpt_dir = os.environ.get("CKPT_DIR", "checkpoints")
    os.makedirs(ckpt_dir, exist_ok=True)
    rank = int(os.environ["RANK"])
    run = os.environ.get("SLURM_RESTART_COUNT", os.environ.get("PBS_RUN_COUNT", "0"))
    path = os.path.join(ckpt_dir, f"rank{rank}.json")
    step = json.load(open(path))["step"] if os.path.exists(path) else 0
    total = int(os.environ.get("TOTAL_STEPS", "30"))
    signal.signal(signal.SIGUSR1, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"rank {rank} starts at step {step} (restart count {run})", flush=True)
    while step < total:
        if stop:
            with open(path + ".tmp", "w") as f:
                json.dump({"step": step}, f)
            os.replace(path + ".tmp", path)
            print(f"rank {rank} checkpointed at step {step}", flush=True)
            sys.exit(0)
        time.sleep(0.2)  # one training step
        step += 1
    print(f"rank {rank} done at step {step}", flush=True)


if __name__ == "__main__":
    main()
