#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs one libFuzzer harness (built by `make fuzz`) for a given time on a
fresh copy of its in-tree seed corpus, and prints one line of figures:
executions, coverage (cov: edges, ft: features) and corpus size. Exits
non-zero on a crash, a leak, a timeout or a broken invariant, after
printing the end of the fuzzer's log and where the input was saved.
Usage: run-fuzzer.py --build DIR --seconds N fuzz-NAME"""

import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("harness")
    a = ap.parse_args()
    fdir = os.path.join(a.build, "fuzz")
    exe = os.path.join(fdir, a.harness)
    if not os.access(exe, os.X_OK):
        print("%s: not built (make fuzz)" % a.harness)
        return 1
    work = os.path.join(fdir, "work", a.harness)
    shutil.rmtree(work, ignore_errors=True)
    seeds = os.path.join(HERE, "corpus", a.harness)
    if os.path.isdir(seeds):
        shutil.copytree(seeds, work)
    else:
        os.makedirs(work)
    argv = [exe, "-max_total_time=%d" % a.seconds, "-timeout=10", "-rss_limit_mb=2048",
            "-print_final_stats=1", "-artifact_prefix=%s/%s-" % (fdir, a.harness)]
    d = os.path.join(HERE, a.harness + ".dict")
    if os.path.exists(d):
        argv.append("-dict=" + d)
    o = os.path.join(HERE, a.harness + ".options")
    if os.path.exists(o):
        argv += open(o).read().split()
    argv.append(work)
    log_path = os.path.join(fdir, a.harness + ".log")
    with open(log_path, "w") as log:
        rc = subprocess.call(argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    text = open(log_path, errors="replace").read()
    stats = re.findall(r"^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\d+)", text, re.M)
    runs = re.search(r"^stat::number_of_executed_units: (\d+)", text, re.M)
    seeds_n = len(os.listdir(seeds)) if os.path.isdir(seeds) else 0
    if stats:
        n, cov, ft, corp = stats[-1]
        print("%s: %s runs in %d s, cov: %s, ft: %s, corpus %d seeds -> %s inputs%s" %
              (a.harness, runs.group(1) if runs else n, a.seconds, cov, ft, seeds_n, corp,
               "" if rc == 0 else ", FAILED (exit %d)" % rc))
    else:
        print("%s: no figures (exit %d)" % (a.harness, rc))
    if rc != 0:
        print("\n".join(text.splitlines()[-60:]))
        print("%s: the fuzzer's log is %s; a crashing input is saved as %s/%s-*" %
              (a.harness, log_path, fdir, a.harness))
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
