"""Fields vessel does not apply (AppArmor, SELinux, Intel RDT) are refused
by name at create, saying why, with nothing left behind."""
import json
import os

import pytest
from test_errors import create_fails


def run_out(vessel, bundle, cid):
    bundle.write()
    p = vessel.run("run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    return p.stdout


# ---- not applied by vessel: refused by name ----

def host_reason(facility, probe):
    if os.path.exists(probe):
        return f"{facility} is not supported by vessel"
    return f"{facility} is not enabled on this host ({probe} missing)"


REFUSED = [
    ("process", "apparmorProfile", "docker-default",
     host_reason("AppArmor", "/sys/kernel/security/apparmor")),
    ("process", "selinuxLabel", "system_u:system_r:container_t:s0",
     host_reason("SELinux", "/sys/fs/selinux")),
    ("linux", "mountLabel", "system_u:object_r:container_file_t:s0",
     host_reason("SELinux", "/sys/fs/selinux")),
    ("linux", "intelRdt", {"closID": "guaranteed", "l3CacheSchema": "L3:0=ff"},
     host_reason("resctrl", "/sys/fs/resctrl/info")),
    ("linux", "intelRdt", {}, host_reason("resctrl", "/sys/fs/resctrl/info")),
]


@pytest.mark.parametrize("section,key,value,why", REFUSED, ids=[f"{k}-{i}" for i, (_, k, _, _) in enumerate(REFUSED)])
def test_unapplied_field_refused_by_name(vessel, bundle, cid, section, key, value, why):
    bundle.config[section][key] = value
    bundle.write()
    create_fails(vessel, bundle, cid, f"config.json: {section}.{key}: {why}")


@pytest.mark.parametrize("section,key,value,expect", [
    ("process", "apparmorProfile", 7, "process.apparmorProfile: expected a string"),
    ("linux", "mountLabel", ["x"], "linux.mountLabel: expected a string"),
    ("linux", "intelRdt", "closID", "linux.intelRdt: expected an object"),
])
def test_unapplied_field_wrong_type(vessel, bundle, cid, section, key, value, expect):
    bundle.config[section][key] = value
    bundle.write()
    create_fails(vessel, bundle, cid, "config.json: " + expect)


def test_empty_labels_are_unset(vessel, bundle, cid):
    """podman sends empty strings when no label or profile is set."""
    bundle.config["process"]["apparmorProfile"] = ""
    bundle.config["process"]["selinuxLabel"] = ""
    bundle.config["linux"]["mountLabel"] = ""
    bundle.config["linux"]["intelRdt"] = None
    bundle.sh("echo ok")
    assert run_out(vessel, bundle, cid).strip() == "ok"


# ---- features ----

def test_features_report_what_is_supported(vessel):
    f = json.loads(vessel.run("features", check=True).stdout)
    lx = f["linux"]
    assert lx["apparmor"] == {"enabled": False}
    assert lx["selinux"] == {"enabled": False}
    assert lx["intelRdt"] == {"enabled": False}
