"""Behaviour runc and crun share and the runtime-spec asks for, found by
running their test suites against vessel: each test is one such gap."""
import os
import subprocess

import pytest

from test_errors import assert_nothing_left, create_fails


def run_ok(vessel, bundle, cid):
    p = vessel.run("run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    return p.stdout


def write_passwd(bundle, text):
    with open(os.path.join(bundle.rootfs, "etc", "passwd"), "w") as f:
        f.write(text)


PASSWD = "root:x:0:0:root:/root:/bin/sh\nsvc:x:1000:1000:a service:/home/svc:/bin/sh\n"


# --- HOME from the image's /etc/passwd -------------------------------------

@pytest.mark.parametrize("uid,home", [(0, "/root"), (1000, "/home/svc"), (4242, "/")])
def test_home_comes_from_the_users_passwd_entry(vessel, bundle, cid, uid, home):
    write_passwd(bundle, PASSWD)
    bundle.config["process"]["user"] = {"uid": uid, "gid": uid}
    bundle.sh('echo "$HOME"').write()
    assert run_ok(vessel, bundle, cid) == home + "\n"


def test_home_given_in_env_is_kept(vessel, bundle, cid):
    write_passwd(bundle, PASSWD)
    bundle.config["process"]["env"].append("HOME=/mine")
    bundle.sh('echo "$HOME"').write()
    assert run_ok(vessel, bundle, cid) == "/mine\n"


def test_home_without_passwd_is_root_dir(vessel, bundle, cid):
    bundle.sh('echo "$HOME"').write()
    assert run_ok(vessel, bundle, cid) == "/\n"


def test_passwd_symlink_never_leaves_the_rootfs(vessel, bundle, cid, tmp_path):
    """Attack: the image's /etc/passwd is an absolute symlink to a host file
    with an entry for the container's uid; the host file must not be read."""
    host = tmp_path / "host-passwd"
    host.write_text("root:x:0:0:root:/from-the-host:/bin/sh\n")
    os.symlink(str(host), os.path.join(bundle.rootfs, "etc", "passwd"))
    bundle.sh('echo "$HOME"').write()
    assert run_ok(vessel, bundle, cid) == "/\n"


def test_passwd_fifo_does_not_hang_create(vessel, bundle, cid):
    """Attack: a FIFO as /etc/passwd would block a plain open/read forever."""
    os.mkfifo(os.path.join(bundle.rootfs, "etc", "passwd"))
    bundle.sh('echo "$HOME"').write()
    p = vessel.run("run", "--bundle", bundle.path, cid, timeout=20)
    assert p.returncode != 0 and "/etc/passwd is not a regular file" in p.stderr
    assert_nothing_left(vessel, cid, bundle)
