"""The Dockerfile against the binary it ships (no Docker engine needed):

  - the runtime stage's `apt-get install` list is exactly the Debian
    packages of the libraries the installed binary links directly (ELF
    NEEDED, resolved with ldd, mapped with dpkg -S), plus ca-certificates
    (TLS roots for AWS; not a library);
  - every library ldd resolves (the whole closure) belongs to a package in
    the dependency closure of that list, so apt pulls in the rest;
  - the build stage installs only packages scripts/install-deps.sh lists;
  - the runtime stage: debian:bookworm-slim, a numeric non-root USER,
    STOPSIGNAL SIGTERM, a HEALTHCHECK on /healthz, JSON logs, the checkpoint
    on the /var/lib/shardhose volume.

Environment: SHARDHOSE_BUILD_DIR (CTest sets it); the binary is installed
from there with `cmake --install --component Runtime` into a temp prefix.
"""

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("SHARDHOSE_BUILD_DIR") or os.path.join(REPO, "build")
DOCKERFILE = os.path.join(REPO, "Dockerfile")
NOT_LIBRARIES = {"ca-certificates": "TLS roots for the AWS endpoints"}


def logical_lines(text):
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        out.append(cur + line)
        cur = ""
    if cur:
        out.append(cur)
    return [l for l in out if l.strip()]


def stages(text):
    """[(from_line, [instruction lines])]"""
    result = []
    for line in logical_lines(text):
        if re.match(r"^\s*FROM\s", line, re.I):
            result.append((line.strip(), []))
        elif result:
            result[-1][1].append(line.strip())
    return result


def apt_installs(lines):
    """Packages named by `apt-get install` in RUN instructions."""
    pkgs = []
    for line in lines:
        if not line.upper().startswith("RUN "):
            continue
        for cmd in re.split(r"&&|;|\|\|", line[4:]):
            words = shlex.split(cmd)
            if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
                after = words[words.index("install") + 1:]
                pkgs += [w for w in after if not w.startswith("-")]
    return pkgs


def spellings(path):
    """The names dpkg may know a library by (symlink or target, with or
    without the /usr of merged /usr)."""
    out = set()
    for p in (path, os.path.realpath(path)):
        out.add(p)
        out.add(p[4:] if p.startswith("/usr/") else "/usr" + p)
    return out


def dpkg_owners(paths):
    """{path: {package}} with one dpkg -S call (it reads every file list)."""
    candidates = sorted(set().union(*(spellings(p) for p in paths)))
    r = subprocess.run(["dpkg", "-S"] + candidates, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    owner_of = {}
    for line in r.stdout.splitlines():
        pkgs, _, path = line.rpartition(": ")
        if pkgs.startswith("diversion by") or not path:
            continue
        owner_of[path] = {x.strip().split(":")[0] for x in pkgs.split(",")}
    result = {}
    for p in paths:
        owners = set().union(*(owner_of.get(c, set()) for c in spellings(p)))
        assert owners, "no Debian package owns %s" % p
        result[p] = owners
    return result


def depends_closure(pkgs):
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        r = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", p],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if r.returncode != 0:
            continue
        for alt_group in r.stdout.split(","):
            for alt in alt_group.split("|"):
                name = alt.strip().split(" ")[0].split(":")[0]
                if name:
                    todo.append(name)
    return seen


def install_deps_packages():
    with open(os.path.join(REPO, "scripts", "install-deps.sh")) as f:
        m = re.search(r"^PACKAGES=\((.*?)^\)", f.read(), re.M | re.S)
    return set(re.sub(r"#.*", "", m.group(1)).split())


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DOCKERFILE) as f:
            cls.text = f.read()
        cls.stages = stages(cls.text)
        cls.tmp = tempfile.mkdtemp(prefix="shardhose-docker-")
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.tmp, "--component", "Runtime"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise AssertionError("cmake --install --component Runtime failed:\n" + r.stdout)
        cls.binary = os.path.join(cls.tmp, "bin", "shardhose")
        assert os.path.isfile(cls.binary), r.stdout

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def ldd(self):
        """{soname: path} for every library ldd resolves."""
        r = subprocess.run(["ldd", self.binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(r.returncode, 0, r.stdout)
        libs = {}
        for line in r.stdout.splitlines():
            line = line.strip()
            self.assertNotIn("not found", line, "unresolved library: " + line)
            m = re.match(r"^(\S+) => (/\S+) \(", line)
            if m:
                libs[m.group(1)] = m.group(2)
            else:
                m = re.match(r"^(/\S+) \(", line)  # the dynamic loader
                if m:
                    libs[os.path.basename(m.group(1))] = m.group(1)
        return libs

    def needed(self):
        r = subprocess.run(["objdump", "-p", self.binary], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout)
        return re.findall(r"^\s*NEEDED\s+(\S+)", r.stdout, re.M)

    def runtime(self):
        return self.stages[-1]

    def test_runtime_packages_are_exactly_the_linked_libraries(self):
        libs = self.ldd()
        needed = self.needed()
        for soname in needed:
            self.assertIn(soname, libs, "ldd did not resolve %s" % soname)
        owners = dpkg_owners([libs[n] for n in needed])
        wanted = {}
        for soname in needed:
            for pkg in owners[libs[soname]]:
                wanted.setdefault(pkg, []).append(soname)
        listed = apt_installs(self.runtime()[1])
        self.assertEqual(len(listed), len(set(listed)), "a package is listed twice: %s" % listed)
        extra = set(listed) - set(wanted) - set(NOT_LIBRARIES)
        missing = set(wanted) - set(listed)
        self.assertFalse(missing, "runtime stage lacks %s" % {p: wanted[p] for p in missing})
        self.assertFalse(extra, "runtime stage installs %s, which the binary does not link" % sorted(extra))
        for p in NOT_LIBRARIES:
            self.assertIn(p, listed)

    def test_runtime_closure_covers_every_resolved_library(self):
        closure = depends_closure(apt_installs(self.runtime()[1]))
        libs = self.ldd()
        owners_of = dpkg_owners(list(libs.values()))
        for soname, path in libs.items():
            with self.subTest(lib=soname):
                owners = owners_of[path]
                self.assertTrue(owners & closure, "%s (%s) is not pulled in by the runtime packages"
                                % (soname, sorted(owners)))

    def test_build_stage_uses_install_deps_packages(self):
        self.assertGreaterEqual(len(self.stages), 2, "not a multi-stage build")
        self.assertRegex(self.stages[0][0], r"^FROM debian:bookworm(\s|$)")
        build_pkgs = set()
        for _, lines in self.stages[:-1]:
            build_pkgs |= set(apt_installs(lines))
        self.assertTrue(build_pkgs)
        unknown = build_pkgs - install_deps_packages()
        self.assertFalse(unknown, "build stage installs packages not in scripts/install-deps.sh: %s"
                         % sorted(unknown))

    def test_runtime_stage(self):
        frm, lines = self.runtime()
        self.assertRegex(frm, r"^FROM debian:bookworm-slim(\s|$)")
        text = "\n".join(lines)
        m = re.search(r"^USER\s+(\d+)(?::(\d+))?$", text, re.M)
        self.assertIsNotNone(m, "no numeric USER (Kubernetes runAsNonRoot needs a numeric uid)")
        self.assertNotEqual(int(m.group(1)), 0)
        self.assertRegex(text, r"(?m)^STOPSIGNAL SIGTERM$")
        self.assertRegex(text, r"(?m)^HEALTHCHECK .*/healthz")
        self.assertRegex(text, r"(?m)^VOLUME \[\"/var/lib/shardhose\"\]$")
        env = dict(re.findall(r"(SHARDHOSE_[A-Z_]+)=(\S+)", text))
        self.assertEqual(env.get("SHARDHOSE_LOG_FORMAT"), "json")
        self.assertEqual(env.get("SHARDHOSE_SERVER_LISTEN"), "0.0.0.0:9600")
        self.assertTrue(env.get("SHARDHOSE_CHECKPOINT_PATH", "").startswith("/var/lib/shardhose/"))
        self.assertIn("COPY --from=build", text)
        self.assertRegex(text, r'(?m)^ENTRYPOINT \["/usr/local/bin/shardhose"\]$')

    def test_healthcheck_command_is_valid_bash(self):
        m = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", "\n".join(self.runtime()[1]), re.M)
        self.assertIsNotNone(m)
        import json
        argv = json.loads(m.group(1))
        self.assertEqual(argv[:2], ["bash", "-c"])
        r = subprocess.run(["bash", "-n", "-c", argv[2]], stderr=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_healthcheck_follows_the_configured_listen_address(self):
        # The HEALTHCHECK's command, run as Docker runs it, against a stand-in
        # /healthz on a port that is not 9600.
        import http.server
        import json
        import threading
        m = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", "\n".join(self.runtime()[1]), re.M)
        argv = json.loads(m.group(1))
        status = {"code": 200}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(status["code"] if self.path == "/healthz" else 404)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        port = server.server_address[1]

        def check(listen):
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            if listen is not None:
                env["SHARDHOSE_SERVER_LISTEN"] = listen
            return subprocess.run(argv, env=env, timeout=10).returncode

        self.assertEqual(check("0.0.0.0:%d" % port), 0)
        self.assertEqual(check("127.0.0.1:%d" % port), 0)
        self.assertEqual(check(""), 0, "server.listen empty: nothing to check")
        status["code"] = 503
        self.assertNotEqual(check("0.0.0.0:%d" % port), 0, "a 503 /healthz must fail the check")
        status["code"] = 200
        server.shutdown()
        server.server_close()
        self.assertNotEqual(check("0.0.0.0:%d" % port), 0, "nothing listening must fail the check")


if __name__ == "__main__":
    unittest.main()
