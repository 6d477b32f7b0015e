#!/usr/bin/env python3
"""step_timer.py -- time a training command's optimizer steps from its own progress lines.

    step_timer.py --engine NAME --warmup 3 --steps 20 --total-steps 32559 -- COMMAND ...

Runs COMMAND, stamps every line it prints (stdout and stderr) with a monotonic clock, and reads
the completed step number from either engine's progress line:
  bert-emotion train --logging-steps 1   "step 7/32559 loss 0.7 ..." (stderr, one per step)
  ../shared/reference/train.py           {"type": "step", "step": 7, ..., "seconds": 0.31}
Step k's wall time is the gap between the lines of steps k-1 and k, so both engines are timed the
same way (data batching, padding and logging included). Steps 1..WARMUP are dropped (step 1 has no
previous line at all); once step WARMUP+STEPS is printed the command is killed (no final
evaluation or model save is waited for). Prints one JSON line: median/mean step time, the mean
padded length when the engine reports it, and the projection of a full run of TOTAL steps.
"""

import argparse
import json
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

OURS = re.compile(r"^step (\d+)/\d+ ")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", required=True)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--total-steps", type=int, required=True, help="steps of the full run to project")
    ap.add_argument("--log", help="also write every stamped line here")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        sys.exit("step_timer.py: no command given")
    last = a.warmup + a.steps

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    lines = []  # (time, stream, text)
    lock = threading.Lock()
    done = threading.Event()
    stamps = {}  # step -> time its line was printed
    extra = {}  # step -> the reference's own record

    def read(stream, name):
        for line in stream:
            t = time.perf_counter()
            with lock:
                lines.append((t, name, line.rstrip("\n")))
                step = None
                m = OURS.match(line)
                if m:
                    step = int(m.group(1))
                elif line.startswith("{"):
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        rec = None
                    if isinstance(rec, dict) and rec.get("type") == "step":
                        step = int(rec["step"])
                        extra[step] = rec
                if step is not None and step not in stamps:
                    stamps[step] = t
                    if step >= last:
                        done.set()

    readers = [threading.Thread(target=read, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=read, args=(proc.stderr, "err"), daemon=True)]
    for r in readers:
        r.start()
    while not done.is_set() and proc.poll() is None:
        done.wait(0.2)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)  # our own child: no final evaluation or 0.5 GB save to wait for
    proc.wait()
    for r in readers:
        r.join(timeout=5)
    if a.log:
        with open(a.log, "w") as f:
            for t, name, text in lines:
                f.write("%.6f %s %s\n" % (t, name, text))
    missing = [k for k in range(a.warmup, last + 1) if k not in stamps]
    if missing:
        tail = "\n".join(text for _, _, text in lines[-15:])
        sys.exit("step_timer.py: %s printed no progress line for steps %s (exit %s); last lines:\n%s"
                 % (a.engine, missing[:5], proc.returncode, tail))
    times = [stamps[k] - stamps[k - 1] for k in range(a.warmup + 1, last + 1)]
    out = {
        "engine": a.engine,
        "steps_measured": len(times),
        "warmup": a.warmup,
        "step_median_s": statistics.median(times),
        "step_mean_s": statistics.fmean(times),
        "step_min_s": min(times),
        "step_max_s": max(times),
        "total_steps_full_run": a.total_steps,
        "projected_full_run_s_median": statistics.median(times) * a.total_steps,
        "projected_full_run_s_mean": statistics.fmean(times) * a.total_steps,
    }
    measured = [extra[k] for k in range(a.warmup + 1, last + 1) if k in extra]
    if measured:
        out["own_step_seconds_mean"] = statistics.fmean(r["seconds"] for r in measured)
        out["padded_len_mean"] = statistics.fmean(r["seq_len"] for r in measured)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
