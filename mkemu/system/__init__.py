"""Building a whole Debian guest system (`mkemu rootfs build`), one concept per module.

* `sources`  -- the host's apt sources (one-line and deb822), read and rewritten;
* `control`  -- deb822 stanzas: parsing, and dpkg's status and info database;
* `apt`      -- a private apt configuration for arm64 (update, resolve, download);
* `unpack`   -- .debs unpacked on the host, merged /usr, the dpkg database;
* `pycompile`-- the guest's python byte-code, compiled by the host's python;
* `configure`-- the guest's own `dpkg --configure -a`, run under mkemu;
* `progress` -- a progress bar per phase (rich), or plain lines off a terminal.

`mkemu/rootfs_build.py` puts them together; `mkemu/rootfs_cmd.py` is the command.  Nothing here
imports the kernel except `configure`, which asks it for the guest's default
environment; guest programs run in a `python -m mkemu run` subprocess.
"""
