"""`cpack -G DEB` on the build tree, into a temp dir, and what the .deb holds:

  - the binary, the four units, the man page, the example configuration
    (a conffile), maintainer scripts that reload systemd;
  - the units' ExecStart names the packaged binary's path;
  - Depends (dpkg-shlibdeps) covers the libraries the binary links, plus
    ca-certificates.
(check_units.py runs systemd-analyze on the same units installed with
`cmake --install`.)

Environment: SHARDHOSE_BUILD_DIR (CTest sets it). cpack first builds the
tree's `all` (a no-op after a full build).
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
UNITS = ["shardhose.service", "shardhose@.service", "shardhose-drain@.service", "shardhose-drain@.timer"]


def cache_value(name):
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        m = re.search(r"^%s:[A-Z]+=(.*)$" % re.escape(name), f.read(), re.M)
    return m.group(1) if m else None


class DebPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps"):
            if shutil.which(tool) is None:
                raise AssertionError("%s not found (packages cmake, dpkg-dev)" % tool)
        cls.tmp = tempfile.mkdtemp(prefix="shardhose-deb-")
        r = subprocess.run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                            "-B", cls.tmp], cwd=cls.tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        cls.cpack_log = r.stdout
        if r.returncode != 0:
            raise AssertionError("cpack -G DEB failed:\n" + r.stdout[-6000:])
        debs = [f for f in os.listdir(cls.tmp) if f.endswith(".deb")]
        if len(debs) != 1:
            raise AssertionError("expected one .deb in %s, got %s\n%s" % (cls.tmp, debs, r.stdout[-3000:]))
        cls.deb = os.path.join(cls.tmp, debs[0])
        cls.root = os.path.join(cls.tmp, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True)
        cls.control = os.path.join(cls.tmp, "control")
        subprocess.run(["dpkg-deb", "-e", cls.deb, cls.control], check=True)
        cls.prefix = cache_value("CMAKE_INSTALL_PREFIX") or "/usr/local"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def field(self, name):
        r = subprocess.run(["dpkg-deb", "-f", self.deb, name], stdout=subprocess.PIPE, text=True, check=True)
        return r.stdout.strip()

    def test_contents(self):
        p = self.prefix.lstrip("/")
        expect = [os.path.join(p, "bin", "shardhose"),
                  os.path.join(p, "share", "man", "man1", "shardhose.1")]
        expect += [os.path.join(p, "lib", "systemd", "system", u) for u in UNITS]
        for rel in expect:
            self.assertTrue(os.path.isfile(os.path.join(self.root, rel)), "%s not in the package" % rel)
        examples = [os.path.join(dp, f) for dp, _, fs in os.walk(self.root) for f in fs
                    if f == "shardhose.example.toml"]
        self.assertTrue(any("/etc/shardhose/" in e for e in examples), examples)

    def test_units_name_the_packaged_binary(self):
        binary = os.path.join(self.prefix, "bin", "shardhose")
        for u in UNITS:
            if not u.endswith(".service"):
                continue
            with open(os.path.join(self.root, self.prefix.lstrip("/"), "lib", "systemd", "system", u)) as f:
                m = re.search(r"^ExecStart=(\S+)", f.read(), re.M)
            self.assertEqual(m.group(1), binary, u)

    def test_conffile_and_maintainer_scripts(self):
        with open(os.path.join(self.control, "conffiles")) as f:
            conffiles = f.read().split()
        self.assertEqual(len(conffiles), 1)
        self.assertTrue(conffiles[0].endswith("/shardhose/shardhose.example.toml"), conffiles)
        self.assertTrue(os.path.isfile(os.path.join(self.root, conffiles[0].lstrip("/"))),
                        "conffile %s not in the package" % conffiles[0])
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.control, script)
            self.assertTrue(os.access(path, os.X_OK), script)
            r = subprocess.run(["sh", "-n", path], stderr=subprocess.PIPE, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.control, "postinst")) as f:
            postinst = f.read()
        self.assertIn("daemon-reload", postinst)
        # What the scripts point a user at exists: every *.md they name is in
        # the package's docs, every quoted section of README.md is a heading.
        docs = {n for _, _, files in os.walk(self.root) for n in files if n.endswith(".md")}
        with open(os.path.join(REPO, "README.md")) as f:
            headings = {ln.lstrip("#").strip() for ln in f if ln.startswith("#")}
        for script in ("postinst", "prerm", "postrm"):
            with open(os.path.join(self.control, script)) as f:
                text = f.read()
            for name in re.findall(r"[\w.-]+\.md\b", text):
                self.assertIn(name, docs, "%s names %s, which the package does not ship" % (script, name))
            for section in re.findall(r'"([^"]+)" in README\.md', text.replace("\n# ", " ")):
                self.assertIn(section, headings, "%s points at a README section that does not exist" % script)

    def test_depends(self):
        depends = self.field("Depends")
        for pkg in ("ca-certificates", "libcurl4", "libc6", "libfmt9", "libssl3"):
            self.assertRegex(depends, r"(^|, )%s( |,|$)" % re.escape(pkg), depends)
        self.assertRegex(depends, r"(^|, )libspdlog1\.10", depends)  # spdlog's shlibs: libspdlog1.10-fmt9
        self.assertEqual(self.field("Package"), "shardhose")


if __name__ == "__main__":
    unittest.main()
