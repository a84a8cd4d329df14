"""The systemd units as installed: `cmake --install` into a temp prefix, then

  - `systemd-analyze verify` prints nothing and exits 0 for every unit (the
    templates through an instance, the way systemd loads them; ExecStart's
    binary and the man page in Documentation= resolve in the temp prefix);
  - `systemd-analyze security --offline=yes` rates every service at an
    exposure <= 2.0;
  - the settings the daemon's contract depends on are there: Type=notify,
    NotifyAccess=main, a watchdog, TimeoutStopSec = shutdown.grace_period_s
    + 5, no restart on exit 2/3, the checkpoint in the state directory,
    ExecStart naming the installed binary.

Environment: SHARDHOSE_BUILD_DIR (the CMake build tree; CTest sets it).
Needs the shardhose binary built (cmake --install installs it).
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("SHARDHOSE_BUILD_DIR") or os.path.join(REPO, "build")
MAX_EXPOSURE = 2.0

SERVICES = {  # unit file -> name it is verified and rated under
    "shardhose.service": "shardhose.service",
    "shardhose@.service": "shardhose@orders.service",
    "shardhose-drain@.service": "shardhose-drain@orders.service",
}
TIMERS = {"shardhose-drain@.timer": "shardhose-drain@orders.timer"}


def grace_period_default():
    """shutdown.grace_period_s in config/shardhose.example.toml (the default)."""
    with open(os.path.join(REPO, "config", "shardhose.example.toml")) as f:
        m = re.search(r"^\s*grace_period_s\s*=\s*(\d+)", f.read(), re.M)
    assert m, "grace_period_s not in config/shardhose.example.toml"
    return int(m.group(1))


def parse_unit(path):
    """{section: [(key, value)]}, continuation lines joined, comments dropped."""
    out, section, pending = {}, None, ""
    with open(path) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.startswith("[") and s.endswith("]"):
                section = s[1:-1]
                out.setdefault(section, [])
                continue
            k, _, v = s.partition("=")
            out[section].append((k.strip(), v.strip()))
    return out


def values(unit, section, key):
    return [v for k, v in unit.get(section, []) if k == key]


class InstalledUnits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("systemd-analyze") is None:
            raise AssertionError("systemd-analyze not installed: run scripts/install-deps.sh (package systemd)")
        cls.tmp = tempfile.mkdtemp(prefix="shardhose-units-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        cls.destdir = os.path.join(cls.tmp, "destdir")
        cls.install_log = ""
        # Component by component: Config may go to an absolute /etc (a build
        # configured with the /usr prefix), so it goes under a DESTDIR.
        for component, destdir in (("Runtime", None), ("Systemd", None), ("Doc", None),
                                   ("Config", cls.destdir)):
            env = dict(os.environ)
            env.pop("DESTDIR", None)
            if destdir:
                env["DESTDIR"] = destdir
            r = subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix, "--component", component],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            cls.install_log += r.stdout
            if r.returncode != 0:
                raise AssertionError("cmake --install --component %s failed:\n%s" % (component, r.stdout))
        cls.unitdir = os.path.join(cls.prefix, "lib", "systemd", "system")
        # Instances load their template, as systemd does: a directory with
        # the unit files plus instance symlinks.
        cls.loaddir = os.path.join(cls.tmp, "units")
        os.makedirs(cls.loaddir)
        for name in list(SERVICES) + list(TIMERS):
            src = os.path.join(cls.unitdir, name)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(cls.loaddir, name))
        for template, instance in list(SERVICES.items()) + list(TIMERS.items()):
            if template != instance and os.path.exists(os.path.join(cls.loaddir, template)):
                os.symlink(template, os.path.join(cls.loaddir, instance))
        cls.env = dict(os.environ)
        cls.env["MANPATH"] = os.path.join(cls.prefix, "share", "man") + ":"
        cls.env["SYSTEMD_PAGER"] = ""

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def analyze(self, *args):
        return subprocess.run(["systemd-analyze", "--no-pager"] + list(args), cwd=self.loaddir,
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def unit(self, name):
        path = os.path.join(self.unitdir, name)
        self.assertTrue(os.path.isfile(path), "%s not installed; install log:\n%s" % (name, self.install_log))
        return parse_unit(path)

    def test_all_units_installed(self):
        for name in list(SERVICES) + list(TIMERS):
            self.assertTrue(os.path.isfile(os.path.join(self.unitdir, name)),
                            "%s not installed; install log:\n%s" % (name, self.install_log))

    def test_verify_clean(self):
        for name in list(SERVICES.values()) + list(TIMERS.values()):
            with self.subTest(unit=name):
                r = self.analyze("verify", name)
                self.assertEqual(r.returncode, 0, "systemd-analyze verify %s:\n%s" % (name, r.stdout))
                self.assertEqual(r.stdout.strip(), "", "systemd-analyze verify %s is not clean:\n%s"
                                 % (name, r.stdout))

    def test_verify_catches_a_broken_unit(self):
        # The check above is only worth something if verify does complain.
        bad = os.path.join(self.loaddir, "shardhose-broken.service")
        with open(os.path.join(self.unitdir, "shardhose.service")) as f:
            text = f.read()
        with open(bad, "w") as f:
            f.write(text.replace("Type=notify", "Type=notify\nNoSuchSetting=1"))
        try:
            r = self.analyze("verify", "shardhose-broken.service")
            self.assertIn("NoSuchSetting", r.stdout)
        finally:
            os.unlink(bad)

    def test_security_exposure(self):
        for name in SERVICES.values():
            with self.subTest(unit=name):
                r = self.analyze("security", "--offline=yes", name)
                m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", r.stdout)
                self.assertIsNotNone(m, "no exposure level in:\n" + r.stdout)
                exposure = float(m.group(1))
                print("%s: exposure %.1f" % (name, exposure))
                self.assertLessEqual(exposure, MAX_EXPOSURE, "%s exposure %.1f > %.1f:\n%s"
                                     % (name, exposure, MAX_EXPOSURE,
                                        "\n".join(l for l in r.stdout.splitlines() if "✗" in l)))

    def test_service_contract(self):
        grace = grace_period_default()
        binary = os.path.join(self.prefix, "bin", "shardhose")
        for name in SERVICES:
            with self.subTest(unit=name):
                u = self.unit(name)
                svc = dict(u["Service"])  # last value wins is fine for single-valued keys
                self.assertEqual(svc.get("Type"), "notify")
                self.assertEqual(svc.get("NotifyAccess"), "main")
                self.assertRegex(svc.get("WatchdogSec", ""), r"^[1-9]\d*s?$")
                self.assertEqual(svc.get("TimeoutStopSec"), "%ds" % (grace + 5),
                                 "TimeoutStopSec must be shutdown.grace_period_s (%d) + 5 s" % grace)
                self.assertEqual(svc.get("KillSignal"), "SIGTERM")
                self.assertEqual(svc.get("ExecReload"), "/bin/kill -HUP $MAINPID")  # SIGHUP reloads
                self.assertEqual(svc.get("Restart"), "on-failure")
                self.assertEqual(sorted(svc.get("RestartPreventExitStatus", "").split()), ["2", "3", "5", "6"])
                self.assertEqual(svc.get("DynamicUser"), "yes")
                self.assertEqual(svc.get("ProtectSystem"), "strict")
                self.assertEqual(values(u, "Service", "CapabilityBoundingSet"), [""])
                self.assertEqual(svc.get("RestrictAddressFamilies"), "AF_INET AF_INET6 AF_UNIX")
                self.assertIn("@system-service", values(u, "Service", "SystemCallFilter"))
                self.assertIn("MemoryMax", svc)
                self.assertEqual(svc.get("ConfigurationDirectory"), "shardhose")
                state = svc.get("StateDirectory", "")
                self.assertTrue(state == "shardhose" or state == "shardhose/%i", state)
                self.assertIn("SHARDHOSE_CHECKPOINT_PATH=%%S/%s/checkpoint.json" % state,
                              values(u, "Service", "Environment"))
                exec_start = svc.get("ExecStart", "").split()
                self.assertEqual(exec_start[0], binary, "ExecStart does not name the installed binary")
                self.assertEqual(exec_start[1], "run")
                self.assertIn("--config", exec_start)
                conf = exec_start[exec_start.index("--config") + 1]
                self.assertTrue(conf.startswith("%E/shardhose/"), conf)
                self.assertEqual("--drain" in exec_start, name.startswith("shardhose-drain@"))

    def test_timer(self):
        u = self.unit("shardhose-drain@.timer")
        timer = dict(u["Timer"])
        self.assertEqual(timer.get("OnCalendar"), "daily")
        self.assertEqual(timer.get("Unit"), "shardhose-drain@%i.service")
        self.assertEqual(dict(u["Install"]).get("WantedBy"), "timers.target")
        r = self.analyze("calendar", timer["OnCalendar"])
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_drain_never_stops_the_running_service(self):
        # Conflicts= works both ways: a drain timer firing would stop a
        # running shardhose@ service. The drain skips itself instead.
        for name in ("shardhose@.service", "shardhose-drain@.service"):
            self.assertEqual(values(self.unit(name), "Unit", "Conflicts"), [], name)
        cond = values(self.unit("shardhose-drain@.service"), "Service", "ExecCondition")
        self.assertEqual(len(cond), 1, cond)
        self.assertIn("is-active shardhose@%i.service", cond[0])
        self.assertTrue(cond[0].startswith("+"), "ExecCondition= must run outside the sandbox: " + cond[0])

    def test_docs_installed(self):
        self.assertTrue(os.path.isfile(os.path.join(self.prefix, "share", "man", "man1", "shardhose.1")))
        examples = [os.path.join(dp, f) for dp, _, fs in os.walk(self.destdir) for f in fs]
        self.assertTrue(any(p.endswith("/etc/shardhose/shardhose.example.toml") for p in examples), examples)
        self.assertTrue(os.path.isfile(os.path.join(self.prefix, "bin", "shardhose")))

    def test_man_page_names_every_command(self):
        # `shardhose --help` lists the subcommands; the man page must know them.
        r = subprocess.run([os.path.join(self.prefix, "bin", "shardhose"), "--help"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(r.returncode, 0, r.stdout)
        section = re.split(r"(?i)^subcommands:$", r.stdout, maxsplit=1, flags=re.M)
        self.assertEqual(len(section), 2, "no SUBCOMMANDS in --help:\n" + r.stdout)
        commands = re.findall(r"^\s{2}(\S+)\s", section[1], re.M)
        self.assertIn("run", commands)
        with open(os.path.join(self.prefix, "share", "man", "man1", "shardhose.1")) as f:
            man = f.read().replace("\\-", "-")
        for c in commands:
            self.assertRegex(man, r"(?m)^\.B shardhose %s\b|^\.B %s\b" % (re.escape(c), re.escape(c)),
                             "man page does not describe `shardhose %s`" % c)


if __name__ == "__main__":
    unittest.main()
