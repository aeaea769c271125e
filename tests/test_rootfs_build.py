"""`mkemu rootfs build`: a Debian arm64 system from Debian's packages (mkemu/rootfs_build.py).

The fast tests check the pure parts: the host's apt sources read and
rewritten for the private apt, apt's output read, the dpkg database an unpack
leaves, the merged-/usr placement of a package's files, the guest output
read for failures, the stamp and lock of a build, and the command's errors
(one line, never a traceback).  The slow test builds a real tree (Debian's
archive through the host's sources, then the guest's own `dpkg --configure
-a` under mkemu) and runs bash, python3 and perl from it.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mkemu import rootfs_build
from mkemu.cli import main
from mkemu.system import apt as aptmod
from mkemu.system.apt import AptError, Planned, PrivateApt, essential_names, parse_simulation
from mkemu.system.configure import ConfigureResult, GuestRun
from mkemu.system.control import (info_name, list_file, packages_not_installed, parse_stanzas,
                                  status_stanza, trigger_interests)
from mkemu.system.progress import Reporter
from mkemu.system.sources import (SourcesError, binary_only, parse_deb822, parse_one_line,
                                  read_host_sources, render)
from mkemu.system.unpack import (Unpacked, UnpackError, add_basics, make_merged_usr, place_tree,
                                 resolve_in_root, tree_paths, write_dpkg_database)
from tests.support.guestrun import run_mkemu

REPO = Path(__file__).resolve().parents[1]


# ---- the host's sources -----------------------------------------------------------------

def test_one_line_sources_keep_uri_suite_components_and_options():
    text = ("# a comment\n"
            "deb [arch=arm64,amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian "
            "bookworm main contrib  # trailing\n"
            "deb-src http://mirror.example/debian bookworm main\n"
            "\n"
            "deb [trusted=yes] file:/srv/repo ./\n")
    got = parse_one_line(text, "x.list")
    assert [(s.types, s.uris, s.suites, s.components) for s in got] == [
        (["deb"], ["http://mirror.example/debian"], ["bookworm"], ["main", "contrib"]),
        (["deb-src"], ["http://mirror.example/debian"], ["bookworm"], ["main"]),
        (["deb"], ["file:/srv/repo"], ["./"], []),
    ]
    assert got[0].options == {"Architectures": "arm64 amd64",
                              "Signed-By": "/usr/share/keyrings/k.gpg"}
    assert got[2].options == {"Trusted": "yes"}
    assert [s.types for s in binary_only(got)] == [["deb"], ["deb"]]


@pytest.mark.parametrize("bad", ["deb http://mirror.example/debian", "rpm http://x y",
                                 "deb [arch=arm64 http://x y main", "deb [bogus=1] http://x y",
                                 "deb http://x ./ main"])
def test_one_line_sources_apt_refuses_are_refused(bad):
    with pytest.raises(SourcesError):
        parse_one_line(bad, "bad.list")


def test_deb822_sources_keep_every_field_and_skip_disabled_entries():
    key = ("Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINBF\n"
           " -----END PGP PUBLIC KEY BLOCK-----\n")
    text = ("# the main archive\n"
            "Types: deb deb-src\n"
            "URIs: http://mirror.example/debian\n"
            "Suites: bookworm bookworm-updates\n"
            "components: main\n"
            + key + "\n"
            "Types: deb\nURIs: http://other.example/x\nSuites: stable\nComponents: main\n"
            "Enabled: no\n\n"
            "Types: deb\nURIs: http://third.example/y\nSuites: nodistro\nComponents: main\n"
            "Architectures: amd64\n")
    got = parse_deb822(text, "x.sources")
    assert len(got) == 2
    assert got[0].suites == ["bookworm", "bookworm-updates"] and got[0].components == ["main"]
    assert got[1].options == {"Architectures": "amd64"}         # kept as configured
    out = render(binary_only(got))
    again = parse_deb822(out, "again.sources")
    assert [(s.types, s.uris, s.suites, s.components, s.options) for s in again] == [
        (["deb"], ["http://mirror.example/debian"], ["bookworm", "bookworm-updates"], ["main"],
         {"Signed-By": got[0].options["Signed-By"]}),
        (["deb"], ["http://third.example/y"], ["nodistro"], ["main"], {"Architectures": "amd64"}),
    ]
    assert "-----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINBF" in out


def test_deb822_entry_without_uris_is_refused():
    with pytest.raises(SourcesError, match="no URIs"):
        parse_deb822("Types: deb\nSuites: bookworm\n", "x.sources")


def test_host_sources_are_read_in_apts_order(tmp_path):
    main_list = tmp_path / "sources.list"
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    main_list.write_text("deb http://a.example/debian bookworm main\n")
    (parts / "b.sources").write_text("Types: deb\nURIs: http://b.example/d\nSuites: s\n"
                                     "Components: c\n")
    (parts / "a.list").write_text("deb http://c.example/d s c\n")
    (parts / "z.list.disabled").write_text("deb http://ignored.example/d s c\n")
    got = read_host_sources(main_list, parts)
    assert [s.uris[0] for s in got] == ["http://a.example/debian", "http://c.example/d",
                                       "http://b.example/d"]


def test_private_apt_configuration_is_arm64_with_an_empty_status(tmp_path):
    log = io.StringIO()
    apt = PrivateApt(tmp_path / "apt", tmp_path / "debs", log)
    apt.setup(parse_one_line("deb [signed-by=/k.gpg] http://mirror.example/debian bookworm main"))
    settings = dict(apt.settings())
    assert settings["APT::Architecture"] == "arm64" and settings["APT::Architectures"] == "arm64"
    assert (tmp_path / "apt/state/status").read_text() == ""
    assert settings["Dir::State::status"] == str(tmp_path / "apt/state/status")
    assert settings["Dir::Cache::Archives"] == str(tmp_path / "debs")
    conf = apt.config_file.read_text()
    assert 'APT::Architectures "arm64";' in conf
    copied = parse_deb822((tmp_path / "apt/sources.list.d/host.sources").read_text())
    assert [(s.uris, s.suites, s.options) for s in copied] == [
        (["http://mirror.example/debian"], ["bookworm"], {"Signed-By": "/k.gpg"})]
    cmd = apt.command("apt-get", "update")
    assert cmd[:3] == ["apt-get", "-o", "APT::Architecture=arm64"] and cmd[-1] == "update"


def test_no_sources_is_one_readable_error(tmp_path):
    apt = PrivateApt(tmp_path / "apt", tmp_path / "debs", io.StringIO())
    with pytest.raises(AptError, match="no apt sources"):
        apt.setup(parse_one_line("deb-src http://mirror.example/debian bookworm main"))


def test_no_network_is_one_readable_error(monkeypatch, tmp_path):
    apt = PrivateApt(tmp_path / "apt", tmp_path / "debs", io.StringIO())
    apt.setup(parse_one_line("deb http://mirror.example/debian bookworm main"))
    out = ("Ign:1 http://mirror.example/debian bookworm InRelease\n"
           "W: Failed to fetch http://mirror.example/debian/dists/bookworm/InRelease  "
           "Temporary failure resolving 'mirror.example'\n"
           "W: Some index files failed to download. They have been ignored, or old ones used "
           "instead.\n")
    monkeypatch.setattr(PrivateApt, "run", lambda self, *a, **k: (0, out))   # apt exits 0
    with pytest.raises(AptError, match=r"could not fetch the package lists \(no network\?\): "
                                       "Failed to fetch http://mirror.example"):
        apt.update()


# ---- apt's output ---------------------------------------------------------------------------

def test_simulation_gives_the_closure_in_apts_order():
    out = ("Reading package lists...\n"
           "Inst gcc-12-base (12.2.0-14+deb12u1 Debian:12.15/oldstable [arm64])\n"
           "Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [arm64]) []\n"
           "Inst bsdutils [1:2.38-1] (1:2.38.1-5+deb12u3 Debian:12.15/oldstable [arm64])\n"
           "Inst tzdata (2026f-0+deb12u1 Debian:12.15/oldstable, Debian-Security:12 [all])\n"
           "Conf libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [arm64])\n")
    got = parse_simulation(out)
    assert got == [Planned("gcc-12-base", "12.2.0-14+deb12u1", "arm64"),
                   Planned("libc6", "2.36-9+deb12u14", "arm64"),
                   Planned("bsdutils", "1:2.38.1-5+deb12u3", "arm64"),
                   Planned("tzdata", "2026f-0+deb12u1", "all")]
    assert got[2].archive_name == "bsdutils_1%3a2.38.1-5+deb12u3_arm64.deb"
    with pytest.raises(ValueError):
        parse_simulation("Inst something unexpected\n")


def test_essential_names_from_the_package_lists():
    avail = ("Package: dash\nEssential: yes\nPriority: required\n\n"
             "Package: tzdata\nPriority: required\nDescription: x\n more\n\n"
             "Package: vim\nPriority: optional\n\n"
             "Package: coreutils\nEssential: yes\n")
    assert essential_names(io.StringIO(avail)) == ["coreutils", "dash", "tzdata"]


# ---- the dpkg database ---------------------------------------------------------------------

CONTROL = ("Package: libfoo1\nSource: foo\nVersion: 1:2.0-1\nArchitecture: arm64\n"
           "Maintainer: A <a@example.org>\nInstalled-Size: 10\nDepends: libc6 (>= 2.36)\n"
           "Section: libs\nPriority: optional\nMulti-Arch: same\nHomepage: https://foo.example\n"
           "Description: the foo library\n It does foo.\n .\n Really.\n")


def test_status_stanza_is_in_dpkgs_field_order_with_status_and_conffiles():
    control = parse_stanzas(CONTROL)[0]
    text = status_stanza(control, "install ok unpacked", [("/etc/foo.conf", "0" * 32)])
    assert [ln.split(":")[0] for ln in text.splitlines() if not ln.startswith(" ")] == [
        "Package", "Status", "Priority", "Section", "Installed-Size", "Maintainer",
        "Architecture", "Multi-Arch", "Source", "Version", "Depends", "Conffiles",
        "Description", "Homepage"]
    assert f"Conffiles:\n /etc/foo.conf {'0' * 32}\n" in text
    assert "Description: the foo library\n It does foo.\n .\n Really.\n" in text
    again = parse_stanzas(text)[0]
    assert again["Status"] == "install ok unpacked" and again["Version"] == "1:2.0-1"
    assert packages_not_installed(text) == {"libfoo1": "unpacked"}
    done = text.replace("install ok unpacked", "install ok installed")
    assert packages_not_installed(done) == {}
    # Essential: no is not written, as dpkg leaves it out
    assert "Essential" not in status_stanza({**control, "Essential": "no"})


def test_info_names_are_arch_qualified_for_multi_arch_same_only():
    control = parse_stanzas(CONTROL)[0]
    assert info_name(control) == "libfoo1:arm64"
    assert info_name({**control, "Multi-Arch": "foreign"}) == "libfoo1"
    assert info_name({"Package": "bash", "Architecture": "arm64"}) == "bash"


def test_list_file_and_trigger_interests():
    assert list_file(["/.", "/bin", "/bin/bash"]) == "/.\n/bin\n/bin/bash\n"
    lines, named = trigger_interests("libc-bin", "# added\ninterest-await ldconfig\n"
                                                 "activate-noawait ldconfig\n"
                                                 "interest-noawait /usr/share/x\n")
    assert lines == ["/usr/share/x libc-bin/noawait"] and named == {"ldconfig": ["libc-bin"]}


def _fake_package(root: Path, work: Path, control: str, files: dict[str, str],
                  members: dict[str, str]) -> Unpacked:
    tree = work / "tree"
    for path, text in files.items():
        p = tree / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    paths = tree_paths(tree)
    place_tree(tree, root)
    ctl = parse_stanzas(control)[0]
    return Unpacked(ctl, {k: v.encode() for k, v in members.items()},
                    {k: 0o755 if k.endswith("inst") else 0o644 for k in members}, paths)


def test_dpkg_database_says_unpacked_with_lists_scripts_and_conffile_hashes(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    make_merged_usr(root)
    foo = _fake_package(root, tmp_path / "w1", CONTROL,
                        {"etc/foo.conf": "x=1\n", "lib/aarch64-linux-gnu/libfoo.so.1": "elf"},
                        {"conffiles": "/etc/foo.conf\n", "postinst": "#!/bin/sh\n",
                         "md5sums": "abc  lib/x\n", "triggers": "activate-noawait ldconfig\n"})
    bin_ctl = "Package: libc-bin\nVersion: 2.36\nArchitecture: arm64\nEssential: yes\n"
    libc_bin = _fake_package(root, tmp_path / "w2", bin_ctl, {"sbin/ldconfig": "elf"},
                             {"triggers": "interest-noawait ldconfig\n"})
    write_dpkg_database(root, [foo, libc_bin])
    admin = root / "var/lib/dpkg"
    status = parse_stanzas((admin / "status").read_text())
    assert [(s["Package"], s["Status"]) for s in status] == [
        ("libfoo1", "install ok unpacked"), ("libc-bin", "install ok unpacked")]
    digest = hashlib.md5(b"x=1\n").hexdigest()
    assert status[0]["Conffiles"] == f"\n /etc/foo.conf {digest}"
    assert (admin / "info/libfoo1:arm64.list").read_text().splitlines() == [
        "/.", "/etc", "/etc/foo.conf", "/lib", "/lib/aarch64-linux-gnu",
        "/lib/aarch64-linux-gnu/libfoo.so.1"]
    assert os.access(admin / "info/libfoo1:arm64.postinst", os.X_OK)
    assert (admin / "info/libfoo1:arm64.conffiles").read_text() == "/etc/foo.conf\n"
    assert (admin / "info/libc-bin.list").exists()
    assert not (admin / "info/libfoo1:arm64.control").exists()    # dpkg keeps no control file
    assert (admin / "info/format").read_text() == "1\n"
    assert (admin / "triggers/ldconfig").read_text() == "libc-bin/noawait\n"
    assert (admin / "available").read_text().startswith("Package: libfoo1\n")
    # the package's /lib file is where merged /usr puts it
    assert (root / "usr/lib/aarch64-linux-gnu/libfoo.so.1").read_text() == "elf"
    assert (root / "usr/sbin/ldconfig").exists() and (root / "sbin").is_symlink()


# ---- merged /usr ------------------------------------------------------------------------------

def test_merged_usr_places_bin_sbin_and_lib_files_under_usr(tmp_path):
    root, pkg = tmp_path / "root", tmp_path / "pkg"
    root.mkdir()
    make_merged_usr(root)
    for path in ("bin/bash", "sbin/ldconfig", "lib/aarch64-linux-gnu/libc.so.6", "usr/bin/env",
                 "etc/bash.bashrc"):
        (pkg / path).parent.mkdir(parents=True, exist_ok=True)
        (pkg / path).write_text(path)
    os.symlink("aarch64-linux-gnu/libc.so.6", pkg / "lib/libc-link")
    assert place_tree(pkg, root) == []
    for top in ("bin", "sbin", "lib"):
        assert os.readlink(root / top) == f"usr/{top}"
    assert (root / "usr/bin/bash").read_text() == "bin/bash"
    assert (root / "usr/sbin/ldconfig").read_text() == "sbin/ldconfig"
    assert (root / "usr/bin/env").read_text() == "usr/bin/env"
    assert (root / "usr/lib/libc-link").read_text() == "lib/aarch64-linux-gnu/libc.so.6"
    assert (root / "etc/bash.bashrc").exists()


def test_a_later_package_replaces_a_file_and_never_a_directory(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    make_merged_usr(root)
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "usr/bin").mkdir(parents=True)
    (first / "usr/bin/awk").write_text("mawk")
    (first / "usr/share/doc/x").mkdir(parents=True)
    (second / "bin").mkdir(parents=True)
    (second / "bin/awk").write_text("gawk")
    (second / "usr/share/doc").mkdir(parents=True)
    (second / "usr/share/doc/x").write_text("a file where a directory is")
    assert place_tree(first, root) == []
    log = io.StringIO()
    notes = place_tree(second, root, log, "second")
    assert (root / "usr/bin/awk").read_text() == "gawk"
    assert notes == ["/bin/awk: replaces the file an earlier package unpacked",
                     "/usr/share/doc/x: a directory in the tree: the package's file not placed"]
    assert "unpack second: /bin/awk" in log.getvalue()


def test_links_are_followed_inside_the_tree_only(tmp_path):
    root = tmp_path / "root"
    (root / "usr/share/zoneinfo").mkdir(parents=True)
    os.symlink("/usr/share/zoneinfo", root / "zi")          # absolute: the tree's own path
    os.symlink("../../../../..", root / "usr/share/up")      # .. stops at the tree's top
    assert resolve_in_root(root, "/zi/UTC") == root / "usr/share/zoneinfo/UTC"
    assert resolve_in_root(root, "usr/share/up/etc") == root / "etc"
    os.symlink("loop", root / "loop")
    with pytest.raises(UnpackError, match="too many levels"):
        resolve_in_root(root, "/loop/x")
    with pytest.raises(UnpackError, match="not a merged /usr"):
        (root / "bin").mkdir()
        make_merged_usr(root)


def test_basics_come_from_base_passwd_where_no_package_wrote_them(tmp_path):
    root = tmp_path / "root"
    (root / "usr/share/base-passwd").mkdir(parents=True)
    (root / "usr/share/base-passwd/passwd.master").write_text("root:*:0:0:root:/root:/bin/bash\n")
    (root / "usr/share/base-passwd/group.master").write_text("root:*:0:\n")
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("kept\n")
    added = add_basics(root)
    assert (root / "etc/passwd").read_text() == "root:*:0:0:root:/root:/bin/bash\n"
    assert (root / "etc/hostname").read_text() == "kept\n"
    assert oct((root / "tmp").stat().st_mode & 0o7777) == oct(0o1777)
    assert all((root / d).is_dir() for d in ("proc", "sys", "dev", "root", "run"))
    assert "/etc/hostname" not in added and "/etc/fstab" in added


# ---- what the guest printed ------------------------------------------------------------------

def test_guest_output_gives_failures_and_enosys_per_package():
    run, pending = GuestRun(), []
    for line in ["Setting up libc6:arm64 (2.36-9) ...",
                 "mkemu: unimplemented syscall socket (198): returning -ENOSYS",
                 "Setting up foo (1.0) ...",
                 "dpkg: error processing package foo (--configure):",
                 " installed foo package post-installation script subprocess returned error exit status 1",
                 "dpkg: dependency problems prevent configuration of bar:",
                 " bar depends on foo; however:",
                 "  Package foo is not configured yet.",
                 "",
                 "mkemu-preinst: baz",
                 "mkemu-preinst-failed: baz status 2"]:
        run.feed(line, pending)
    assert run.errors["foo"].startswith("installed foo package post-installation script")
    assert run.errors["bar"] == "bar depends on foo; however:; Package foo is not configured yet."
    assert run.enosys == {"socket": {"libc6:arm64"}}
    assert run.preinst_failed == {"baz": "preinst exited with status 2"}


# ---- the build's bookkeeping -------------------------------------------------------------------

def _fake_phases(monkeypatch, tmp_path, dpkg_ran=True, unconfigured=None):
    """build_rootfs with its three phases replaced (no apt, no dpkg-deb, no guest)."""
    monkeypatch.setenv("MKEMU_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(rootfs_build, "_need_host_tools", lambda: None)

    def download(apt, packages, extra, reporter, log):
        wanted = (packages or ["bash"]) + list(extra)
        return wanted, [Planned(p, "1.0", "arm64") for p in wanted], [], 1.0

    def unpack(debs, root, work, reporter, log):
        (root / "etc").mkdir()
        (root / "etc/hostname").write_text("new\n")
        return [], 2.0

    def configure(root, unpacked, reporter, log, timeout):
        return ConfigureResult(unconfigured or {}, {"socket": ["libc6"]}, {}, dpkg_ran, 1), 3.0

    monkeypatch.setattr(rootfs_build, "_download", download)
    monkeypatch.setattr(rootfs_build, "_unpack", unpack)
    monkeypatch.setattr(rootfs_build, "_configure", configure)


def test_a_build_is_renamed_into_place_and_stamped_beside_it(monkeypatch, tmp_path):
    _fake_phases(monkeypatch, tmp_path)
    dest = tmp_path / "out" / "tree"
    dest.mkdir(parents=True)
    (dest / "old-file").write_text("from an earlier build")
    assert not rootfs_build.is_built(dest)
    info = rootfs_build.build_rootfs(dest, ["extra"], packages=["bash"],
                                     reporter=Reporter(enabled=False))
    assert rootfs_build.is_built(dest)
    assert (dest / "etc/hostname").read_text() == "new\n" and not (dest / "old-file").exists()
    assert info.requested == ["bash", "extra"] and info.complete
    stamp = rootfs_build.read_stamp(dest)
    assert stamp == info and stamp.enosys == {"socket": ["libc6"]}
    assert sorted(p.name for p in dest.parent.iterdir()) == [
        ".tree.lock", "tree", "tree.log", "tree.stamp"]       # no staging left behind
    assert "ENOSYS from mkemu: socket" in rootfs_build.log_path(dest).read_text()


def test_a_build_whose_dpkg_never_ran_installs_nothing(monkeypatch, tmp_path):
    _fake_phases(monkeypatch, tmp_path, dpkg_ran=False)
    dest = tmp_path / "tree"
    with pytest.raises(rootfs_build.RootfsBuildError, match="configured no package"):
        rootfs_build.build_rootfs(dest, packages=["bash"], reporter=Reporter(enabled=False))
    assert not dest.exists() and not rootfs_build.stamp_path(dest).exists()
    assert not rootfs_build.is_built(dest)


def test_unconfigured_packages_are_recorded_and_warned_about(monkeypatch, tmp_path, capsys):
    _fake_phases(monkeypatch, tmp_path, unconfigured={"foo": "half-configured: exit status 1"})
    dest = tmp_path / "tree"
    assert main(["rootfs", "build", str(dest), "--packages", "foo"]) == 0
    err = capsys.readouterr().err
    assert "warning: 1 packages are not configured" in err and "foo: half-configured" in err
    assert rootfs_build.read_stamp(dest).unconfigured == {"foo": "half-configured: exit status 1"}
    assert main(["rootfs", "info", str(dest)]) == 0
    assert "1 not configured" in capsys.readouterr().out


def test_stamp_of_another_format_is_not_a_build(tmp_path):
    dest = tmp_path / "tree"
    dest.mkdir()
    rootfs_build.stamp_path(dest).write_text('{"format": 0}')
    assert not rootfs_build.is_built(dest)
    rootfs_build.stamp_path(dest).write_text("not json")
    assert rootfs_build.read_stamp(dest) is None


def test_default_rootfs_is_in_the_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("MKEMU_CACHE", str(tmp_path))
    assert rootfs_build.default_rootfs_path() == tmp_path / "rootfs" / "default"


def test_plain_progress_lines_off_a_terminal():
    out = io.StringIO()
    rep = Reporter(stream=out)
    with rep.phase("unpack", total=20, unit="packages") as ph:
        for i in range(20):
            ph.advance(detail=f"p{i}")
    lines = out.getvalue().splitlines()
    assert lines[0] == "mkemu rootfs: unpack: started (20 packages)"
    assert lines[-1].startswith("mkemu rootfs: unpack: done in ")
    assert 5 <= len(lines) <= 13 and all(ln.startswith("mkemu rootfs: ") for ln in lines)


# ---- the command's errors: one line, no traceback ---------------------------------------------

def _mkemu(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "mkemu", *args], capture_output=True, text=True,
                          env=full, stdin=subprocess.DEVNULL, timeout=600)


def _one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err


def test_an_unknown_package_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MKEMU_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(rootfs_build, "_need_host_tools", lambda: None)

    class FakeApt(PrivateApt):
        def setup(self, sources): pass
        def update(self, on_status=None): pass
        def essential(self): return ["dash"]
        def plan(self, packages):
            raise AptError("unknown package: no-such-pkg (not in the arm64 package lists "
                           "of the host's apt sources)")

    monkeypatch.setattr(rootfs_build, "PrivateApt", FakeApt)
    monkeypatch.setattr(rootfs_build, "read_host_sources", lambda: [])
    code = main(["rootfs", "build", str(tmp_path / "t"), "--packages", "no-such-pkg"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[-1] == ("mkemu: rootfs build: unknown package: no-such-pkg (not in the arm64 "
                       "package lists of the host's apt sources)")
    assert not (tmp_path / "t").exists()


def test_without_apt_the_command_says_so_in_one_line(tmp_path):
    r = _mkemu("rootfs", "build", str(tmp_path / "t"),
               env={"PATH": str(tmp_path), "MKEMU_CACHE": str(tmp_path / "c")})
    assert r.returncode == 1 and _one_line(r.stderr), r.stderr
    assert "apt-get" in r.stderr and "not found" in r.stderr


def test_info_of_a_tree_never_built_is_one_line(tmp_path):
    r = _mkemu("rootfs", "info", str(tmp_path / "nothing"))
    assert r.returncode == 1 and _one_line(r.stderr) and "not a built rootfs" in r.stderr


def test_a_bad_option_is_rootfs_usage_not_a_traceback():
    r = _mkemu("rootfs", "build", "--bogus")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "usage: mkemu rootfs" in r.stderr


# ---- a real build ------------------------------------------------------------------------------

# Small, but enough for dpkg's maintainer scripts to run (dash, coreutils, sed,
# grep, debconf, ...) and with the three interpreters the test runs.
SMALL_SET = ["base-files", "base-passwd", "dpkg", "dash", "bash", "coreutils", "sed", "grep",
             "findutils", "diffutils", "debianutils", "libc-bin", "mawk", "debconf", "perl",
             "python3", "less", "vim-tiny", "procps", "ncurses-base"]   # (terminfo: xterm)


@pytest.fixture(scope="module")
def small_system(tmp_path_factory):
    """SMALL_SET built once for this module's slow tests: (tree, build info, seconds)."""
    if not all(map(shutil.which, ("apt-get", "dpkg-deb"))):
        pytest.skip("needs apt-get and dpkg-deb (a Debian host)")
    dest = tmp_path_factory.mktemp("build") / "debian"
    started = time.monotonic()
    info = rootfs_build.build_rootfs(dest, packages=SMALL_SET, reporter=Reporter())
    return dest, info, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.timeout(4 * 3600)
def test_build_a_small_system_and_run_bash_python3_and_perl_from_it(small_system):
    dest, info, took = small_system
    print(f"\nbuilt {len(info.installed)} packages in {took:.0f} s: {info.seconds}; "
          f"unconfigured {info.unconfigured}; ENOSYS {info.enosys}")
    assert rootfs_build.is_built(dest)
    assert info.unconfigured == {}, rootfs_build.log_path(dest).read_text()[-3000:]
    status = (dest / "var/lib/dpkg/status").read_text()
    assert packages_not_installed(status) == {}
    assert "Package: python3\n" in status and "Package: perl\n" in status
    assert (dest / "etc/passwd").read_text().startswith("root:")
    assert os.readlink(dest / "bin") == "usr/bin"

    code, out, err = run_mkemu(["/bin/bash", "-c", 'echo "$BASH_VERSION" $((6*7)); '
                                "getent passwd root | cut -d: -f1,6"], rootfs=dest, timeout=300)
    assert (code, out.split(b" ")[1:]) == (0, [b"42\nroot:/root\n"]), err
    assert out.startswith(b"5.2")
    code, out, err = run_mkemu(["python3", "-c", "import sys, json\n"
                                "print(sys.version_info[:2], json.dumps({'a': [1, 2]}))"],
                               rootfs=dest, timeout=600)
    assert (code, out) == (0, b'(3, 11) {"a": [1, 2]}\n'), err
    code, out, err = run_mkemu(["perl", "-MPOSIX", "-MList::Util=sum", "-e",
                                'print sum(1..10), " ", POSIX::floor(2.5), "\\n"'],
                               rootfs=dest, timeout=300)
    assert (code, out) == (0, b"55 2\n"), err



@pytest.mark.slow
@pytest.mark.timeout(4 * 3600)
def test_boot_the_built_system_and_use_less_and_vi_on_its_terminal(small_system):
    # root's login shell from the tree's own /etc/passwd (bash), less following a
    # window resize (SIGWINCH through mkemu's pty), vi writing a file
    pexpect = pytest.importorskip("pexpect")
    dest = small_system[0]
    child = pexpect.spawn(sys.executable, ["-m", "mkemu", "boot", str(dest)], timeout=300,
                          encoding="utf-8", codec_errors="replace", dimensions=(20, 80),
                          cwd=str(REPO),
                          env={**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm"})
    try:
        child.expect("# ")
        child.sendline("echo $0 $SHELL")
        child.expect("-bash /bin/bash")
        child.expect("# ")
        child.sendline("seq 1 100 | less")
        child.expect("19")                       # a 20-row screen: 19 lines and the prompt
        time.sleep(3)
        child.setwinsize(40, 80)
        time.sleep(3)
        child.sendline("")
        child.expect("40")                       # redrawn for 40 rows
        child.send("q")
        child.expect("# ")
        child.sendline("vi /tmp/from-vi.txt")
        time.sleep(10)
        child.send("ihello from vi\x1b")
        time.sleep(2)
        child.send(":wq\r")
        child.expect("# ")
        child.sendline("cat /tmp/from-vi.txt; exit 5")
        child.expect("hello from vi")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 5
    finally:
        child.close(force=True)
