"""The README's systemd install steps, followed literally, give a service that
can read its configuration.

The unit runs as a dynamic user (DynamicUser=yes): neither root nor in
root's group. This test takes the README's `install -m ...` line for the
configuration, runs it into a temporary root (only the `/etc/shardhose/`
paths are moved there), gives the configuration directory the mode the unit
asks systemd for (ConfigurationDirectoryMode= in systemd/service-common.inc),
gives the state directory to an unprivileged uid as StateDirectory= does,
and then runs `shardhose validate` as that uid with the environment the
unit sets (SHARDHOSE_CHECKPOINT_PATH). It must exit 0.

Needs root (setpriv to another uid); skipped otherwise.
Environment: SHARDHOSE_BIN (CTest sets it).
"""

import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("SHARDHOSE_BIN") or os.path.join(REPO, "build", "daemon", "shardhose")
DYNAMIC_UID = 61873  # in systemd's DynamicUser= range (61184-65519)


def readme_install_line():
    """The README's `install ... shardhose.example.toml /etc/shardhose/<name>.toml` line."""
    with open(os.path.join(REPO, "README.md")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if re.search(r"\binstall\b.*shardhose\.example\.toml\s+/etc/shardhose/\w+\.toml", line):
                return line
    raise AssertionError("README.md has no `install ... shardhose.example.toml /etc/shardhose/<name>.toml` line")


def unit_setting(name):
    with open(os.path.join(REPO, "systemd", "service-common.inc")) as f:
        m = re.search(r"^%s=(\S+)" % re.escape(name), f.read(), re.M)
    assert m, "%s not in systemd/service-common.inc" % name
    return m.group(1)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
class ReadmeInstallSteps(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="shardhose-install-")
        os.chmod(self.root, 0o755)
        self.addCleanup(shutil.rmtree, self.root, True)

    def test_dynamic_user_can_validate_the_installed_config(self):
        etc = os.path.join(self.root, "etc", "shardhose")
        os.makedirs(etc)
        os.chmod(os.path.join(self.root, "etc"), 0o755)
        # As `cmake --install` / the .deb put it there: root-owned, default mode.
        shutil.copy(os.path.join(REPO, "config", "shardhose.example.toml"), etc)
        os.chmod(os.path.join(etc, "shardhose.example.toml"), 0o644)

        argv = shlex.split(readme_install_line())
        if argv[0] == "sudo":
            argv = argv[1:]
        argv = [a.replace("/etc/shardhose/", etc + "/") for a in argv]
        subprocess.run(argv, check=True)
        conf = argv[-1]
        # systemd applies ConfigurationDirectoryMode= to /etc/shardhose.
        os.chmod(etc, int(unit_setting("ConfigurationDirectoryMode"), 8))

        # StateDirectory=: owned by the dynamic user, mode StateDirectoryMode=.
        state = os.path.join(self.root, "state")
        os.mkdir(state, int(unit_setting("StateDirectoryMode"), 8))
        os.chown(state, DYNAMIC_UID, DYNAMIC_UID)

        # The binary where the unprivileged uid can run it (a CI checkout may
        # live under /root).
        binary = os.path.join(self.root, "shardhose")
        shutil.copy(BIN, binary)
        os.chmod(binary, 0o755)

        env = {"PATH": "/usr/bin:/bin", "SHARDHOSE_CHECKPOINT_PATH": os.path.join(state, "checkpoint.json")}
        p = subprocess.run(
            ["setpriv", "--reuid=%d" % DYNAMIC_UID, "--regid=%d" % DYNAMIC_UID, "--clear-groups",
             binary, "validate", "--config", conf],
            env=env, capture_output=True, text=True, timeout=60)
        mode = stat.S_IMODE(os.stat(conf).st_mode)
        self.assertEqual(p.returncode, 0,
                         "validate as uid %d failed (config mode %o): %s" % (DYNAMIC_UID, mode, p.stderr))
        self.assertIn("configuration OK", p.stderr)


if __name__ == "__main__":
    unittest.main()
