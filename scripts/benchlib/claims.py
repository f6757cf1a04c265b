"""`bench.py claims`: job store claims per second with W worker threads, PostgreSQL against SQLite.

`reprise store-bench` enqueues --jobs jobs, then W threads claim and mark done until the queue is
empty; it prints one JSON line. The threads share --instances store instances (default 1: one node
with W workers, as the daemon runs them; W: one instance each, as W processes would have). Run here for each engine, --runs times, median reported:
- SQLite: a fresh file in BENCH_DIR/claims-results.
- PostgreSQL: a throwaway server of this run (Debian's initdb + pg_ctl in a temporary folder, run as
  the `postgres` user when we are root, a free port on 127.0.0.1, scram-sha-256 password), default
  durability settings (fsync on), a fresh database per run; stopped and removed at the end.
Both on this machine: the figure is the store's cost per claim, not a network's.
"""
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid

from . import common as c
from .common import die, log


def add_arguments(p):
    c.add_common_options(p, runs_default=3)
    p.add_argument("--workers", type=int, default=c.env_int("WORKERS", 8), help="claiming threads (env WORKERS; default 8)")
    p.add_argument("--jobs", type=int, default=c.env_int("JOBS", 2000), help="jobs per run (env JOBS; default 2000)")
    p.add_argument("--instances", type=int, default=c.env_int("INSTANCES", 1),
                   help="store instances the workers share (env INSTANCES; default 1)")


class ThrowawayPostgres:
    """initdb + pg_ctl in a temporary folder; stop() removes it."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]), reverse=True)
        if not bins:
            die("PostgreSQL's pg_ctl is not in /usr/lib/postgresql/*/bin: apt-get install postgresql")
        self.bin = os.path.dirname(bins[0])
        self.folder = tempfile.mkdtemp(prefix="reprise-pg-", dir="/tmp")
        self.user, self.password = "reprise", uuid.uuid4().hex
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.run_as = None
        if os.getuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                die("running as root and there is no 'postgres' user to run PostgreSQL as: apt-get install postgresql")
            self.run_as = "postgres"
            os.chown(self.folder, pw.pw_uid, pw.pw_gid)
        pwfile = os.path.join(self.folder, "pwfile")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        if self.run_as:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.folder, "data")
        self.tool("initdb", "-D", data, "-U", self.user, f"--pwfile={pwfile}", "-A", "scram-sha-256", "-E", "UTF8",
                  "--no-instructions")
        opts = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self.tool("pg_ctl", "-D", data, "-l", os.path.join(self.folder, "server.log"), "-o", opts, "-w", "start")
        self.data = data

    def tool(self, name, *args):
        cmd = [os.path.join(self.bin, name), *args]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        r = subprocess.run(cmd, cwd=self.folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            die(f"{name} failed ({r.returncode}): {r.stdout.decode(errors='replace')[-1500:]}")

    def create_database(self, name):
        psql = os.path.join(self.bin, "psql")
        env = dict(os.environ, PGPASSWORD=self.password)
        r = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "postgres",
                            "-v", "ON_ERROR_STOP=1", "-c", f"CREATE DATABASE {name}"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            die(f"CREATE DATABASE failed: {r.stdout.decode(errors='replace')}")
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.tool("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def store_bench(b, store, args, env=None):
    r = subprocess.run([b.reprise, "store-bench", "--store", store, "--workers", str(args.workers),
                        "--jobs", str(args.jobs), "--instances", str(args.instances)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if r.returncode != 0:
        die(f"store-bench --store {store} failed: {r.stderr.decode(errors='replace').strip()[-1500:]}")
    result = c.last_json(r.stdout.decode())
    if not result:
        die(f"store-bench printed no JSON line: {r.stdout.decode()[-500:]}")
    return result


def run(args):
    b = c.Bench("claims", args, "claims-results")
    c.check_min("--workers", args.workers, 1)
    c.check_min("--jobs", args.jobs, 1)
    c.check_min("--runs", args.runs, 1)
    c.check_min("--instances", args.instances, 1)
    b.ensure_reprise(needs=("store-bench --help",))
    results = {"sqlite": [], "postgres": []}
    pg = ThrowawayPostgres()
    try:
        env = dict(os.environ, PGPASSWORD=pg.password)
        for n in range(args.runs):
            path = b.res / f"run{n}.sqlite"
            for suffix in ("", "-wal", "-shm"):
                (b.res / f"run{n}.sqlite{suffix}").unlink(missing_ok=True)
            results["sqlite"].append(store_bench(b, f"sqlite:{path}", args))
            log(f"sqlite run {n + 1}: {results['sqlite'][-1]['claims_per_second']:.0f} claims/s")
            url = pg.create_database(f"bench{n}")
            results["postgres"].append(store_bench(b, url, args, env=env))
            log(f"postgres run {n + 1}: {results['postgres'][-1]['claims_per_second']:.0f} claims/s")
    finally:
        pg.stop()
    med = {k: c.median([r["claims_per_second"] for r in v]) for k, v in results.items()}
    lines = [
        f"claims per second, {args.workers} workers on {args.instances} store instance(s), {args.jobs} jobs a run, median of {args.runs}:",
        f"  sqlite:     {med['sqlite']:8.0f}   runs: {' '.join(str(int(r['claims_per_second'])) for r in results['sqlite'])}",
        f"  postgresql: {med['postgres']:8.0f}   runs: {' '.join(str(int(r['claims_per_second'])) for r in results['postgres'])}",
        f"  postgresql / sqlite: {c.fdiv(med['postgres'], med['sqlite'])}",
        "(a claim = claimNext + markDone, two transactions; PostgreSQL on this machine, fsync on)",
        b.host_line(), f"load average: {c.loadavg()}", b.reprise_line(), f"took {b.elapsed()} s",
    ]
    b.summary(lines, "summary-claims.txt")
    with open(b.res / "claims.json", "w") as f:
        json.dump({"workers": args.workers, "jobs": args.jobs, "runs": results, "median": med}, f, indent=1)
