"""Mount options beyond the kernel's flags: runc's and crun's extensions
(tmpcopyup, idmap/ridmap, crun's idmap=uids=..., copy-symlink), the ones
refused by name, and the error a failing mount reports."""
import os
import shutil
import subprocess
import tempfile

import pytest
from conftest import Bundle
from test_errors import create_fails

USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def run_sh(vessel, bundle, cid, script):
    bundle.sh(script).write()
    p = vessel.run("run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    return p.stdout


def tmpfs_run(bundle, *options):
    bundle.config["mounts"].append({"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                                    "options": list(options)})


@pytest.fixture
def shared_tmp():
    """A directory a mapped root (host uid 100000) can walk into. Not under
    pytest's basetemp: a concurrent pytest session resets that to 0700."""
    d = tempfile.mkdtemp(prefix="vessel-mounts-", dir="/tmp")
    os.chmod(d, 0o711)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def userns_bundle(shared_tmp, name="userns-bundle"):
    b = Bundle(os.path.join(shared_tmp, name))
    os.mkdir(os.path.join(b.rootfs, "vol"))  # the mapped root cannot create it
    b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"]["uidMappings"] = USERNS_MAP
    b.config["linux"]["gidMappings"] = USERNS_MAP
    return b


# ---- tmpcopyup ----

def test_tmpcopyup_keeps_the_image_files_modes_owners_and_symlinks(vessel, bundle, cid):
    run = os.path.join(bundle.rootfs, "run")
    os.makedirs(os.path.join(run, "d"))
    with open(os.path.join(run, "d", "f"), "w") as f:
        f.write("from the image\n")
    os.chown(os.path.join(run, "d", "f"), 42, 43)
    os.chmod(os.path.join(run, "d", "f"), 0o604)
    os.chown(os.path.join(run, "d"), 1234, 5678)
    os.chmod(os.path.join(run, "d"), 0o751)
    os.symlink("d/f", os.path.join(run, "link"))
    os.mkfifo(os.path.join(run, "fifo"))
    os.chmod(os.path.join(run, "fifo"), 0o620)
    os.chmod(run, 0o711)
    tmpfs_run(bundle, "nosuid", "nodev", "tmpcopyup")
    out = run_sh(vessel, bundle, cid,
                 "stat -f -c %T /run; stat -c '%a %u %g' /run /run/d /run/d/f; "
                 "readlink /run/link; cat /run/link; stat -c '%F %a' /run/fifo; "
                 "echo new > /run/written")
    assert out.split("\n") == ["tmpfs", "711 0 0", "751 1234 5678", "604 42 43", "d/f",
                               "from the image", "fifo 620", ""]
    # The writes went to the tmpfs, not the image.
    assert not os.path.exists(os.path.join(run, "written"))


def test_tmpfs_without_tmpcopyup_starts_empty(vessel, bundle, cid):
    os.makedirs(os.path.join(bundle.rootfs, "run", "d"))
    tmpfs_run(bundle, "nosuid", "notmpcopyup")
    assert run_sh(vessel, bundle, cid, "ls -A /run | wc -l").strip() == "0"


def test_tmpcopyup_read_only_tmpfs_is_filled_then_read_only(vessel, bundle, cid):
    os.makedirs(os.path.join(bundle.rootfs, "run"))
    open(os.path.join(bundle.rootfs, "run", "f"), "w").close()
    tmpfs_run(bundle, "ro", "tmpcopyup")
    out = run_sh(vessel, bundle, cid, "ls /run; touch /run/x 2>&1 || true")
    assert out.splitlines()[0] == "f"
    assert "Read-only file system" in out


def test_tmpcopyup_copies_symlinks_out_of_the_rootfs_as_symlinks(vessel, bundle, cid, tmp_path):
    # The attack: the image points entries of /run at host paths, hoping the
    # copy follows them and pulls host files into the container.
    secret_dir = tmp_path / "host-secrets"
    secret_dir.mkdir()
    (secret_dir / "secret").write_text("host only\n")
    run = os.path.join(bundle.rootfs, "run")
    os.makedirs(run)
    os.symlink(str(secret_dir), os.path.join(run, "dirlink"))
    os.symlink(str(secret_dir / "secret"), os.path.join(run, "filelink"))
    os.symlink("../../../../../../.." + str(secret_dir), os.path.join(run, "uplink"))
    tmpfs_run(bundle, "tmpcopyup")
    out = run_sh(vessel, bundle, cid,
                 "for l in dirlink filelink uplink; do test -L /run/$l && readlink /run/$l; done; "
                 "cat /run/filelink /run/dirlink/secret /run/uplink/secret 2>/dev/null; "
                 "stat -f -c %T /run")
    assert out.splitlines() == [str(secret_dir), str(secret_dir / "secret"),
                                "../../../../../../.." + str(secret_dir), "tmpfs"]
    assert "host only" not in out


def test_tmpcopyup_on_a_bind_mount_is_refused(vessel, bundle, cid):
    bundle.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": "/tmp",
                                    "options": ["rbind", "tmpcopyup"]})
    bundle.write()
    create_fails(vessel, bundle, cid, "mounts[7].options: \"tmpcopyup\" applies to tmpfs only")


# ---- idmapped mounts ----

@pytest.fixture
def volume(shared_tmp):
    """A host directory with files owned by host root and by 1000:1000."""
    v = os.path.join(shared_tmp, "volume")
    os.mkdir(v, 0o755)
    for name, owner in (("root-file", 0), ("user-file", 1000)):
        with open(os.path.join(v, name), "w") as f:
            f.write(name + "\n")
        os.chown(os.path.join(v, name), owner, owner)
    return v


def bind_volume(bundle, volume, *options, **extra):
    m = {"destination": "/vol", "type": "bind", "source": volume, "options": list(options)}
    m.update(extra)
    bundle.config["mounts"].append(m)


OWNERS = "stat -c '%u:%g' /vol/root-file /vol/user-file"


def test_without_idmap_host_owners_are_unmapped(vessel, cid, shared_tmp, volume):
    b = userns_bundle(shared_tmp)
    bind_volume(b, volume, "rbind")
    assert run_sh(vessel, b, cid, OWNERS).split() == ["65534:65534", "65534:65534"]


def test_idmap_uses_the_container_user_namespace(vessel, cid, shared_tmp, volume):
    b = userns_bundle(shared_tmp)
    bind_volume(b, volume, "rbind", "idmap")
    out = run_sh(vessel, b, cid, OWNERS + "; echo x > /vol/new; stat -c %u:%g /vol/new")
    assert out.split() == ["0:0", "1000:1000", "0:0"]
    # Written through the mapping: owned by host root on disk.
    st = os.stat(os.path.join(volume, "new"))
    assert (st.st_uid, st.st_gid) == (0, 0)


@pytest.mark.parametrize("how", ["mappings", "crun", "crun-relative"])
def test_idmap_with_its_own_mappings(vessel, cid, shared_tmp, volume, how):
    b = userns_bundle(shared_tmp)
    # On-disk 0 shows as host 100007 (gid 100009), i.e. 7:9 in the container.
    if how == "mappings":
        bind_volume(b, volume, "rbind", "idmap",
                    uidMappings=[{"containerID": 0, "hostID": 100007, "size": 1}],
                    gidMappings=[{"containerID": 0, "hostID": 100009, "size": 1}])
    elif how == "crun":
        bind_volume(b, volume, "rbind", "idmap=uids=0-100007-1#1000-101000-1;gids=0-100009-1")
    else:  # '@': the host id is a container id of the container's user namespace
        bind_volume(b, volume, "rbind", "idmap=uids=@0-7-1#1000-101000-1;gids=@0-9-1")
    out = run_sh(vessel, b, cid, OWNERS).split()
    assert out[0] == "7:9"
    assert out[1] == ("1000:65534" if how != "mappings" else "65534:65534")


def test_mount_mappings_without_user_namespace(vessel, bundle, cid, volume):
    # An idmapped mount needs no user namespace of the container's own.
    bind_volume(bundle, volume, "rbind",
                uidMappings=[{"containerID": 0, "hostID": 4242, "size": 1}],
                gidMappings=[{"containerID": 0, "hostID": 4243, "size": 1}])
    assert run_sh(vessel, bundle, cid, OWNERS).split()[0] == "4242:4243"


def test_bind_source_out_of_the_mapped_roots_reach(vessel, cid, shared_tmp):
    # The source sits under a 0700 directory (as podman's userdata does):
    # the init, as the mapped root, could not open it; the runtime does.
    hidden = os.path.join(shared_tmp, "private")
    os.mkdir(hidden, 0o700)
    src = os.path.join(hidden, "data")
    os.mkdir(src, 0o755)
    with open(os.path.join(src, "f"), "w") as f:
        f.write("reached\n")
    b = userns_bundle(shared_tmp)
    bind_volume(b, src, "rbind", "ro", "nosuid")
    out = run_sh(vessel, b, cid, "cat /vol/f; touch /vol/x 2>&1 || true")
    assert out.splitlines()[0] == "reached"
    assert "Read-only file system" in out


@pytest.fixture
def volume_with_submount(volume):
    sub = os.path.join(volume, "sub")
    os.mkdir(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", sub], check=True)
    try:
        open(os.path.join(sub, "in-sub"), "w").close()
        yield volume
    finally:
        subprocess.run(["umount", "-l", sub], check=True)


@pytest.mark.parametrize("opt,owner", [("ridmap", "0"), ("idmap", "65534")])
def test_ridmap_maps_submounts_idmap_only_the_top(vessel, cid, shared_tmp, volume_with_submount,
                                                   opt, owner):
    b = userns_bundle(shared_tmp)
    bind_volume(b, volume_with_submount, "rbind", opt)
    out = run_sh(vessel, b, cid, "stat -c %u /vol/root-file /vol/sub/in-sub").split()
    assert out == ["0", owner]


def test_idmap_without_any_mapping_is_refused(vessel, bundle, cid, volume):
    bind_volume(bundle, volume, "rbind", "idmap")
    bundle.write()
    create_fails(vessel, bundle, cid, "idmap needs uidMappings/gidMappings or a user namespace")


@pytest.mark.parametrize("opt,expect", [
    ("idmap=uids=0-1-x", "expected ID-HOSTID-SIZE triplets"),
    ("idmap=uids=0-1-0;gids=0-1-1", "bad mapping size"),
    ("idmap=foo=1", "expected uids=... or gids=..."),
    ("idmap=uids=0-1-1", "gidMappings: required with uidMappings"),
])
def test_bad_crun_idmap_option(vessel, bundle, cid, volume, opt, expect):
    bind_volume(bundle, volume, "rbind", opt)
    bundle.write()
    create_fails(vessel, bundle, cid, expect)


# ---- other extensions and errors ----

def test_features_lists_the_extensions(vessel):
    import json
    f = json.loads(vessel.run("features", check=True).stdout)
    for opt in ("tmpcopyup", "idmap", "ridmap", "copy-symlink"):
        assert opt in f["mountOptions"]
    assert "src-nofollow" not in f["mountOptions"]
    assert f["linux"]["mountExtensions"] == {"idmap": {"enabled": True}}


def test_copy_symlink_makes_a_symlink(vessel, bundle, cid, tmp_path):
    link = tmp_path / "localtime"
    os.symlink("/usr/share/zoneinfo/Etc/UTC", link)
    os.makedirs(os.path.join(bundle.rootfs, "etc"), exist_ok=True)
    open(os.path.join(bundle.rootfs, "etc", "localtime"), "w").close()
    bundle.config["mounts"].append({"destination": "/etc/localtime", "type": "bind",
                                    "source": str(link), "options": ["rbind", "copy-symlink"]})
    out = run_sh(vessel, bundle, cid, "readlink /etc/localtime")
    assert out.strip() == "/usr/share/zoneinfo/Etc/UTC"


@pytest.mark.parametrize("opt", ["src-nofollow", "dest-nofollow", "O"])
def test_unimplemented_extension_refused_by_name(vessel, bundle, cid, opt):
    bundle.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": "/tmp",
                                    "options": ["rbind", opt]})
    bundle.write()
    create_fails(vessel, bundle, cid, f'mounts[7].options: "{opt}"')


def test_unknown_option_on_a_bind_mount_is_refused(vessel, bundle, cid):
    bundle.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": "/tmp",
                                    "options": ["rbind", "bogus"]})
    bundle.write()
    create_fails(vessel, bundle, cid, 'mounts[7].options: "bogus" is not a mount flag')


@pytest.mark.parametrize("opt", ["z", "Z", "U"])
def test_engine_side_options_are_accepted(vessel, bundle, cid, opt, tmp_path):
    d = tmp_path / "vol"
    d.mkdir()
    (d / "f").write_text("x\n")
    bundle.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(d),
                                    "options": ["rbind", opt]})
    assert run_sh(vessel, bundle, cid, "cat /mnt/f").strip() == "x"


def test_failing_mount_names_destination_type_and_options(vessel, bundle, cid):
    tmpfs_run(bundle, "nosuid", "size=65536k", "bogus")
    bundle.write()
    line = create_fails(vessel, bundle, cid, "mounts[7]: mount tmpfs on /run (type tmpfs, "
                                             'options "nosuid,size=65536k,bogus"): ')
    assert line.endswith("Invalid argument"), line
