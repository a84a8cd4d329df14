"""Start and stop the local emulators for a person (scripts/emulators.sh).

    emulators_cli.py start    kinesis-local and s3rver in the background, on the
                              ports config/local-emulators.toml names (4568,
                              4569), with the stream and bucket it names
                              ("orders", 4 shards; "lake"); prints the
                              endpoints, the credentials and the command to run
    emulators_cli.py stop     stops them (data and logs stay in the state dir)
    emulators_cli.py status   says whether they run

Environment: KINESIS_PORT, S3_PORT (other ports), EMULATORS_DIR
(state: pids, logs, s3rver's data; default <repo>/.emulators).
Exit status: 0 ok, 1 failed to start (the logs' tail is printed), 2 usage.
"""

import json
import os
import signal
import sys
import time

import harness as h

STREAM, SHARDS = "orders", 4


def state_dir():
    d = os.environ.get("EMULATORS_DIR") or os.path.join(h.REPO_ROOT, ".emulators")
    os.makedirs(d, exist_ok=True)
    return d


def pid_file():
    return os.path.join(state_dir(), "pids.json")


def running():
    """{name: pid} of the emulators still alive, from the pid file."""
    try:
        with open(pid_file()) as f:
            pids = json.load(f)
    except (OSError, ValueError):
        return {}
    alive = {}
    for name, pid in pids.get("pids", {}).items():
        try:
            os.kill(pid, 0)
            alive[name] = pid
        except OSError:
            pass
    return alive if alive else {}


def describe(kinesis_port, s3_port):
    conf = os.path.join(h.REPO_ROOT, "config", "local-emulators.toml")
    lines = [
        "kinesis-local  http://127.0.0.1:%d   stream %r (%d shards)" % (kinesis_port, STREAM, SHARDS),
        "s3rver         http://127.0.0.1:%d   bucket %r" % (s3_port, h.BUCKET),
        "",
        "s3rver checks signatures with the access key S3RVER / secret S3RVER:",
        "  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s"
        % (h.ACCESS_KEY, h.SECRET_KEY, h.REGION),
    ]
    if (kinesis_port, s3_port) != (4568, 4569):
        lines.append("  export SHARDHOSE_SOURCE_ENDPOINT_URL=http://127.0.0.1:%d "
                     "SHARDHOSE_OUTPUT_ENDPOINT_URL=http://127.0.0.1:%d" % (kinesis_port, s3_port))
    lines += ["  shardhose run --config %s" % os.path.relpath(conf), "",
              "stop them with: scripts/emulators.sh stop"]
    return "\n".join(lines)


def start():
    kinesis_port = int(os.environ.get("KINESIS_PORT", "4568"))
    s3_port = int(os.environ.get("S3_PORT", "4569"))
    if running():
        with open(pid_file()) as f:
            ports = json.load(f)["ports"]
        print("already running (scripts/emulators.sh stop first to restart them)\n")
        print(describe(*ports))
        return 0
    emu = h.Emulators(streams={STREAM: SHARDS}, workdir=state_dir(), ports=(kinesis_port, s3_port))
    try:
        emu.__enter__()
    except (h.EmulatorError, OSError) as e:
        print("emulators did not start: %s (ports %d and %d must be free; set KINESIS_PORT / S3_PORT)"
              % (e, kinesis_port, s3_port), file=sys.stderr)
        return 1
    with open(pid_file(), "w") as f:
        json.dump({"pids": {"kinesis-local": emu.kinesis_proc.pid, "s3rver": emu.s3_proc.pid},
                   "ports": [kinesis_port, s3_port]}, f)
    emu.kinesis.close()
    print("started; logs and data in %s\n" % state_dir())
    print(describe(kinesis_port, s3_port))
    return 0


def stop():
    alive = running()
    for name, pid in alive.items():
        try:
            os.killpg(pid, signal.SIGTERM)  # started in their own session: the group is the pid
        except OSError:
            pass
    deadline = time.time() + 10
    while time.time() < deadline and running():
        time.sleep(0.1)
    for name, pid in running().items():
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.unlink(pid_file())
    except OSError:
        pass
    print("stopped" if alive else "not running")
    return 0


def status():
    alive = running()
    if not alive:
        print("not running")
        return 3
    with open(pid_file()) as f:
        ports = json.load(f)["ports"]
    print("running (%s)\n" % ", ".join("%s pid %d" % kv for kv in sorted(alive.items())))
    print(describe(*ports))
    return 0


def main(argv):
    commands = {"start": start, "stop": stop, "status": status}
    if len(argv) != 2 or argv[1] not in commands:
        print("usage: scripts/emulators.sh start|stop|status", file=sys.stderr)
        return 2
    return commands[argv[1]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
