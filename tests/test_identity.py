"""The machine's names agree wherever a guest reads them.

uname(2), /etc/hostname of the rootfs, /proc/sys/kernel/* and /proc/version
name one machine; sethostname/setdomainname change it for every reader.
Expected values are facts: the rootfs's own /etc/hostname, and the errors
sethostname(2) documents (EINVAL past 64 bytes, EFAULT, EPERM without
privilege).  qemu-user is no reference here: it reports the host's names
and would pass sethostname on to the host.
"""
from tests.support.guestrun import run_mkemu


def _lines(out: bytes) -> list[tuple[str, str]]:
    return [tuple(line.split("=", 1)) for line in out.decode().splitlines()]


def test_uname_proc_and_etc_hostname_name_one_machine(rootfs, guest_binary):
    code, out, err = run_mkemu([str(guest_binary("uts_names"))], rootfs=rootfs)
    assert code == 0, err
    lines = _lines(out)
    first = dict(lines[:11])                       # before any sethostname
    rootfs_name = (rootfs / "etc" / "hostname").read_text().split("\n")[0].strip()
    assert first["nodename"] == first["etc_hostname"] == first["proc_hostname"] == rootfs_name
    assert first["proc_osrelease"] == first["release"] and first["proc_ostype"] == first["sysname"]
    assert first["proc_version"].startswith(f"{first['sysname']} version {first['release']} ")
    assert first["proc_version"].endswith(first["version"])
    assert first["machine"] == "aarch64"


def test_sethostname_renames_the_machine_for_every_reader(rootfs, guest_binary):
    code, out, err = run_mkemu([str(guest_binary("uts_names"))], rootfs=rootfs)
    assert code == 0, err
    lines = _lines(out)
    results = dict(kv for kv in lines if kv[0].startswith("set_"))
    assert results == {"set_long": "Invalid argument", "set_fault": "Bad address", "set_64": "ok",
                       "set_host": "ok", "set_domain": "ok",
                       "set_host_as_user": "Operation not permitted"}
    assert dict(lines)["proc_hostname_64"] == "x" * 64
    after = dict(lines[16:])
    assert after["nodename"] == after["proc_hostname"] == "other.example"
    assert after["domainname"] == after["proc_domainname"] == "example.org"
