"""linux.netDevices: a host interface moved into the container (renamed),
and back on the host under its own name after delete. The host interface
is one end of a throwaway veth pair (this kernel has no dummy driver);
deleting the other end removes both wherever they are."""
import json
import os
import subprocess
import uuid

import pytest

from cgroup_util import wait_for
from test_errors import assert_nothing_left, create_fails


def link_exists(name):
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


@pytest.fixture
def hostdev():
    name = "vt" + uuid.uuid4().hex[:6]
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
                   check=True)
    yield name
    subprocess.run(["ip", "link", "del", name + "p"], capture_output=True)
    assert not link_exists(name)


def test_device_moves_in_renamed_and_back(vessel, bundle, cid, hostdev):
    links = os.path.join(bundle.rootfs, "tmp", "links")
    bundle.sh("ip -o link > /tmp/links.tmp; mv /tmp/links.tmp /tmp/links; sleep 1000")
    bundle.config["linux"]["netDevices"] = {hostdev: {"name": "ctr0"}}
    bundle.write()
    vessel.run("create", "--bundle", bundle.path, cid, check=True)
    assert not link_exists(hostdev), "the device is still on the host"
    vessel.run("start", cid, check=True)
    wait_for(lambda: os.path.exists(links), what="the container to list its links")
    with open(links) as f:
        names = [l.split(":")[1].strip().split("@")[0] for l in f]
    assert "ctr0" in names and hostdev not in names, names
    vessel.run("delete", "--force", cid, check=True)
    assert link_exists(hostdev), "the device did not come back"
    assert not link_exists("ctr0")


def test_device_keeps_its_name_without_one(vessel, bundle, cid, hostdev):
    bundle.args("sleep", "1000")
    bundle.config["linux"]["netDevices"] = {hostdev: {}}
    bundle.write()
    vessel.run("create", "--bundle", bundle.path, cid, check=True)
    pid = vessel.state(cid)["pid"]
    out = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-o", "link"],
                         capture_output=True, text=True, check=True).stdout
    assert f" {hostdev}@" in out, out
    vessel.run("delete", "--force", cid, check=True)
    assert link_exists(hostdev)


def test_failed_create_gives_the_device_back(vessel, bundle, cid, hostdev):
    # Devices move when the init reports HOOKS or READY; a failing
    # createRuntime hook fails create after that.
    bundle.args("true")
    bundle.config["linux"]["netDevices"] = {hostdev: {"name": "ctr0"}}
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    bundle.write()
    create_fails(vessel, bundle, cid, "createRuntime")
    assert link_exists(hostdev), "the device was lost"


def test_missing_device_fails_create(vessel, bundle, cid):
    bundle.config["linux"]["netDevices"] = {"vtnosuch0": {"name": "ctr0"}}
    bundle.args("true").write()
    create_fails(vessel, bundle, cid, "linux.netDevices.vtnosuch0")


@pytest.mark.parametrize("devices,expect", [
    ({"a/b": {}}, "linux.netDevices.a/b: not a valid interface name"),
    ({"vt0": {"name": "x" * 16}}, "linux.netDevices.vt0.name"),
    ({"vt0": {"name": "a:b"}}, "linux.netDevices.vt0.name"),
    ({"vt0": {"name": 5}}, "linux.netDevices.vt0.name"),
    ({"vt0": {"nmae": "x"}}, "linux.netDevices.vt0.nmae: unknown field"),
    ({"vt0": "eth0"}, "linux.netDevices.vt0: expected an object"),
    ({"vt0": {"name": "c"}, "vt1": {"name": "c"}}, "both become \"c\""),
])
def test_bad_net_devices(vessel, bundle, cid, devices, expect):
    bundle.config["linux"]["netDevices"] = devices
    bundle.args("true").write()
    create_fails(vessel, bundle, cid, expect)


def test_net_devices_need_a_new_network_namespace(vessel, bundle, cid):
    ns = bundle.config["linux"]["namespaces"]
    bundle.config["linux"]["namespaces"] = [n for n in ns if n["type"] != "network"]
    bundle.config["linux"]["netDevices"] = {"lo": {}}
    bundle.args("true").write()
    create_fails(vessel, bundle, cid, "needs a new network namespace")


def test_features_advertise_net_devices(vessel):
    doc = json.loads(vessel.run("features", check=True).stdout)
    assert doc["linux"]["netDevices"] == {"enabled": True}


def ifindex(name):
    with open(f"/sys/class/net/{name}/ifindex") as f:
        return int(f.read())


def test_container_cannot_plant_its_own_device_under_the_host_name(vessel, bundle, cid, hostdev):
    """Found by an attack review: a container renames our device away and
    makes one of its own with the recorded name; delete must hand back our
    device (by its interface index), never the container's."""
    original = ifindex(hostdev)
    bundle.args("sleep", "1000")
    bundle.config["linux"]["netDevices"] = {hostdev: {"name": "ctr0"}}
    bundle.write()
    vessel.run("create", "--bundle", bundle.path, cid, check=True)
    pid = str(vessel.state(cid)["pid"])
    # As the container's root would (CAP_NET_ADMIN in its own namespace).
    ns = ["nsenter", "-t", pid, "-n"]
    subprocess.run(ns + ["ip", "link", "set", "ctr0", "name", "hidden"], check=True)
    subprocess.run(ns + ["ip", "link", "add", "ctr0", "type", "veth", "peer", "name", "evilp"],
                   check=True)
    p = vessel.run("delete", "--force", cid)
    assert p.returncode == 0, p.stderr
    assert link_exists(hostdev), "our device did not come back"
    assert ifindex(hostdev) == original, "the host got the container's device"
    assert not link_exists("hidden") and not link_exists("evilp")
