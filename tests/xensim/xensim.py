# SPDX-License-Identifier: LGPL-2.1-or-later
"""Test helpers for xensim: start a fresh xensimd in a temporary folder,
drive it with the `xensim` control command, run clients against the
stand-in Xen libraries, and fetch Debian's xen-utils-4.17 (xenctx,
xen-access) into a cache folder when tests need them.

Also a command: `python3 tests/xensim/xensim.py fetch-utils` fills the
cache (used by `make xensim-utils`).
"""

import fcntl
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTILS_CACHE = os.path.join(REPO, ".cache", "xen-utils")
UTILS_BIN = os.path.join(UTILS_CACHE, "usr", "lib", "xen-4.17", "bin")


class XensimError(Exception):
    """A control command that failed: carries its JSON answer."""

    def __init__(self, argv, answer, stderr):
        super().__init__("xensim %s: %s" % (" ".join(argv), stderr.strip() or answer))
        self.answer = answer
        self.stderr = stderr


def fetch_utils():
    """Returns the folder with Debian's xenctx and xen-access, downloading
    xen-utils-4.17 with apt-get (never installing it) when missing.
    Returns None with a reason when it cannot be obtained. Test processes
    running at once (run.py --jobs) take turns: one downloads and unpacks,
    the others wait for it and find the files whole."""
    os.makedirs(os.path.dirname(UTILS_CACHE), exist_ok=True)
    with open(UTILS_CACHE + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _fetch_utils_locked()


def _fetch_utils_locked():
    if os.path.exists(os.path.join(UTILS_BIN, "xenctx")) and \
       os.path.exists(os.path.join(UTILS_BIN, "xen-access")):
        return UTILS_BIN, None
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        return None, "apt-get and dpkg are needed to fetch Debian's xen-utils-4.17"
    work = tempfile.mkdtemp(prefix="xensim-utils-")
    try:
        r = subprocess.run(["apt-get", "download", "xen-utils-4.17"], cwd=work,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=300)
        debs = glob.glob(os.path.join(work, "xen-utils-4.17_*.deb"))
        if r.returncode != 0 or not debs:
            return None, "apt-get download xen-utils-4.17 failed: " + r.stdout.strip()[-300:]
        os.makedirs(UTILS_CACHE, exist_ok=True)
        r = subprocess.run(["dpkg", "-x", debs[0], UTILS_CACHE],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=300)
        if r.returncode != 0:
            return None, "dpkg -x failed: " + r.stdout.strip()[-300:]
    except (OSError, subprocess.SubprocessError) as e:
        return None, "cannot fetch xen-utils-4.17: %s" % e
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not os.path.exists(os.path.join(UTILS_BIN, "xenctx")):
        return None, "xen-utils-4.17 has no usr/lib/xen-4.17/bin/xenctx"
    return UTILS_BIN, None


class Sim:
    """One xensimd of a test: its own folder and socket, killed by pid."""

    def __init__(self, build, tick_us=1000, steps_per_tick=1, spawn=None):
        self.build = os.path.abspath(build)
        self.dir = tempfile.mkdtemp(prefix="xensim-")
        self.socket = os.path.join(self.dir, "xensimd.sock")
        self.log_path = os.path.join(self.dir, "xensimd.log")
        self.daemon = os.path.join(self.build, "xensim", "xensimd")
        self.ctl_bin = os.path.join(self.build, "xensim", "xensim")
        self.libdir = os.path.join(self.build, "xensim", "lib")
        self._log = open(self.log_path, "w")
        argv = [self.daemon, "--socket", self.socket, "--tick-us", str(tick_us),
                "--steps-per-tick", str(steps_per_tick), "-v"]
        spawn = spawn or subprocess.Popen
        self.proc = spawn(argv, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("xensimd did not start: " + self.log())
            time.sleep(0.01)

    def env(self, extra=None):
        """The environment for a client of the stand-in libraries."""
        e = dict(os.environ)
        e["XENSIM_SOCKET"] = self.socket
        # xenstub's recovery journals of this daemon's domains stay here
        e["XENSTUB_JOURNAL_DIR"] = os.path.join(self.dir, "journal")
        e["LD_LIBRARY_PATH"] = self.libdir + (
            ":" + e["LD_LIBRARY_PATH"] if e.get("LD_LIBRARY_PATH") else "")
        if extra:
            e.update(extra)
        return e

    def ctl(self, *args, check=True):
        """Runs `xensim ARGS`; returns the JSON answer (dict)."""
        argv = [str(a) for a in args]
        r = subprocess.run([self.ctl_bin, "--socket", self.socket] + argv,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        try:
            answer = json.loads(r.stdout) if r.stdout.strip() else {}
        except ValueError:
            answer = {"ok": False, "error": r.stdout}
        if check and r.returncode != 0:
            raise XensimError(argv, answer, r.stderr)
        answer["_rc"] = r.returncode
        answer["_stderr"] = r.stderr
        return answer

    def create(self, name, *args):
        return self.ctl("create", "--name", name, *args)["domid"]

    def state(self, dom, digest=False):
        return self.ctl("state", dom, *(["--digest"] if digest else []))

    def workload(self, dom, vcpu, steps):
        path = os.path.join(self.dir, "workload-%s-%s.json" % (dom, vcpu))
        with open(path, "w") as f:
            json.dump({"steps": steps}, f)
        return self.ctl("workload", dom, vcpu, path)

    def wait(self, dom, predicate, what, timeout=60.0):
        """Polls the domain's state until predicate(state) holds; a bound,
        not a timing assertion: raises when it never does."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            s = self.state(dom)
            if predicate(s):
                return s
            if time.monotonic() > deadline:
                raise AssertionError("xensim: timed out waiting for %s; state: %s"
                                     % (what, json.dumps(s)[:2000]))
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def sim_for(ctx, **kw):
    """A Sim whose daemon the e2e harness also tracks (killed at the end of
    the run if a test leaves it behind)."""
    if not os.access(os.path.join(ctx.build, "xensim", "xensimd"), os.X_OK):
        ctx.skip("xensim is not built in %s (make builds it)" % ctx.build)
    return Sim(ctx.build, spawn=ctx.spawn, **kw)


if __name__ == "__main__":
    if sys.argv[1:] == ["fetch-utils"]:
        where, why = fetch_utils()
        if not where:
            print("xensim: %s" % why, file=sys.stderr)
            sys.exit(1)
        print(where)
        sys.exit(0)
    print("usage: xensim.py fetch-utils", file=sys.stderr)
    sys.exit(2)


def start_xen_access(ctx, sim, dom, mode):
    """Starts Debian's unmodified xen-access DOM MODE on the sim (skips the
    test when xen-utils cannot be fetched); returns (process, out, err)."""
    where, why = fetch_utils()
    if not where:
        ctx.skip(why)
    out = open(os.path.join(sim.dir, "xen-access-%s.out" % mode), "w+")
    err = open(os.path.join(sim.dir, "xen-access-%s.err" % mode), "w+")
    p = ctx.spawn([os.path.join(where, "xen-access"), str(dom), mode],
                  env=sim.env(), stdout=out, stderr=err)
    return p, out, err


def stop_xen_access(p, out, err):
    """SIGINT makes xen-access undo its settings and exit (bounded wait);
    returns (exit status, stdout, stderr)."""
    if p.poll() is None:
        os.kill(p.pid, signal.SIGINT)
    try:
        p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    out.seek(0)
    err.seek(0)
    o, e = out.read(), err.read()
    out.close()
    err.close()
    return p.returncode, o, e
