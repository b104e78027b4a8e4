"""linux.personality, process.scheduler, process.ioPriority and
linux.memoryPolicy are applied (each seen from inside the container, so each
test fails if the field is ignored), bad values are refused at create with
their key path and nothing left behind, and the fields vessel does not apply
(AppArmor, SELinux, Intel RDT) are refused by name."""
import json
import os

import pytest
from test_errors import create_fails

SCHED = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
         "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}


def run_out(vessel, bundle, cid):
    bundle.write()
    p = vessel.run("run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    return p.stdout


def sched_of(stat_line):
    """(policy, nice, rt_priority) from a /proc/PID/stat line."""
    f = stat_line.rsplit(")", 1)[1].split()
    # After "comm)": field 3 is f[0]; nice is field 19, rt_priority 40, policy 41.
    return int(f[38]), int(f[16]), int(f[37])


# ---- applied ----

def test_personality_linux32(vessel, bundle, cid):
    assert os.uname().machine == "x86_64"
    bundle.config["linux"]["personality"] = {"domain": "LINUX32", "flags": []}
    bundle.sh("uname -m")
    assert run_out(vessel, bundle, cid).strip() == "i686"


def test_personality_linux_keeps_the_native_machine(vessel, bundle, cid):
    bundle.config["linux"]["personality"] = {"domain": "LINUX"}
    bundle.sh("uname -m")
    assert run_out(vessel, bundle, cid).strip() == "x86_64"


@pytest.mark.parametrize("policy,nice", [("SCHED_BATCH", 7), ("SCHED_IDLE", 0), ("SCHED_OTHER", 3)])
def test_scheduler_fair_policies(vessel, bundle, cid, policy, nice):
    bundle.config["process"]["scheduler"] = {"policy": policy, "nice": nice}
    bundle.sh("cat /proc/self/stat")
    assert sched_of(run_out(vessel, bundle, cid)) == (SCHED[policy], nice, 0)


def test_scheduler_deadline(vessel, bundle, cid):
    bundle.config["process"]["scheduler"] = {
        "policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 10000000, "period": 10000000}
    bundle.sh("cat /proc/self/stat")
    assert sched_of(run_out(vessel, bundle, cid))[0] == SCHED["SCHED_DEADLINE"]


def test_scheduler_realtime_with_rt_budget(vessel, bundle, cid):
    """With RT group scheduling (v1 cpu.rt_runtime_us) a realtime policy
    needs the cgroup's budget in place first: vessel applies the limits
    before the init calls sched_setattr."""
    bundle.config["process"]["scheduler"] = {"policy": "SCHED_RR", "priority": 10,
                                             "flags": ["SCHED_FLAG_RESET_ON_FORK"]}
    if os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"):
        # Directly under the root: a new /vessel parent has no RT budget to share.
        bundle.config["linux"]["cgroupsPath"] = "/" + cid
        bundle.config["linux"]["resources"] = {
            "cpu": {"realtimeRuntime": 10000, "realtimePeriod": 1000000}}
    bundle.args("cat", "/proc/self/stat")
    assert sched_of(run_out(vessel, bundle, cid)) == (SCHED["SCHED_RR"], 0, 10)


@pytest.mark.parametrize("ioprio,shown", [
    ({"class": "IOPRIO_CLASS_BE", "priority": 6}, "best-effort: prio 6"),
    ({"class": "IOPRIO_CLASS_RT", "priority": 2}, "realtime: prio 2"),
    ({"class": "IOPRIO_CLASS_IDLE"}, "idle"),
])
def test_io_priority(vessel, bundle, cid, ioprio, shown):
    bundle.config["process"]["ioPriority"] = ioprio
    bundle.sh("ionice -p $$")
    assert run_out(vessel, bundle, cid).strip().startswith(shown)


needs_numa = pytest.mark.skipif(not os.path.exists("/proc/self/numa_maps"),
                                reason="kernel without NUMA")


@needs_numa
@pytest.mark.parametrize("policy,shown", [
    ({"mode": "MPOL_BIND", "nodes": "0"}, "bind:0"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]},
     "interleave=static:0"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0"}, "prefer:0"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]}, "bind=balancing:0"),
    ({"mode": "MPOL_LOCAL"}, "local"),
])
def test_memory_policy(vessel, bundle, cid, policy, shown):
    bundle.config["linux"]["memoryPolicy"] = policy
    bundle.args("head", "-1", "/proc/self/numa_maps")
    assert run_out(vessel, bundle, cid).split()[1] == shown


@needs_numa
def test_no_memory_policy_is_default(vessel, bundle, cid):
    bundle.args("head", "-1", "/proc/self/numa_maps")
    assert run_out(vessel, bundle, cid).split()[1] == "default"


# ---- bad values: refused at create, with the key path ----

BAD = [
    ("linux", "personality", {"domain": "LINUX64"}, 'linux.personality.domain: unknown domain "LINUX64"'),
    ("linux", "personality", {"flags": []}, "linux.personality.domain: required"),
    ("linux", "personality", {"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]},
     'linux.personality.flags[0]: "ADDR_NO_RANDOMIZE" is not supported by vessel'),
    ("linux", "personality", {"domain": "LINUX", "flags": [3]}, "linux.personality.flags[0]: expected a string"),
    ("linux", "personality", "LINUX32", "linux.personality: expected an object"),
    ("process", "scheduler", {"nice": 1}, "process.scheduler.policy: required"),
    ("process", "scheduler", {"policy": "SCHED_FOO"}, 'process.scheduler.policy: unknown policy "SCHED_FOO"'),
    ("process", "scheduler", {"policy": "SCHED_OTHER", "nice": 20},
     "process.scheduler.nice: 20 is out of range [-20, 19]"),
    ("process", "scheduler", {"policy": "SCHED_FIFO", "priority": 5, "nice": 1},
     "process.scheduler.nice: only SCHED_OTHER, SCHED_BATCH and SCHED_IDLE take a nice value"),
    ("process", "scheduler", {"policy": "SCHED_OTHER", "priority": 5},
     "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority"),
    ("process", "scheduler", {"policy": "SCHED_FIFO"},
     "process.scheduler.priority: SCHED_FIFO needs a priority in [1, 99]"),
    ("process", "scheduler", {"policy": "SCHED_RR", "priority": 100},
     "process.scheduler.priority: 100 is out of range [0, 99]"),
    ("process", "scheduler", {"policy": "SCHED_BATCH", "runtime": 1000},
     "process.scheduler.runtime: only SCHED_DEADLINE takes runtime, deadline and period"),
    ("process", "scheduler", {"policy": "SCHED_DEADLINE", "runtime": 2000, "deadline": 1000},
     "process.scheduler.deadline: must not be below runtime"),
    ("process", "scheduler", {"policy": "SCHED_DEADLINE", "runtime": 2000, "deadline": 3000, "period": 2500},
     "process.scheduler.period: must not be below deadline"),
    ("process", "scheduler", {"policy": "SCHED_DEADLINE", "deadline": 3000},
     "process.scheduler.runtime: SCHED_DEADLINE needs a runtime of at least 1024 ns"),
    ("process", "scheduler", {"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_UTIL_CLAMP_MIN"]},
     'process.scheduler.flags[0]: unknown flag "SCHED_FLAG_UTIL_CLAMP_MIN"'),
    ("process", "scheduler", {"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_RECLAIM"]},
     "process.scheduler.flags: SCHED_FLAG_RECLAIM and SCHED_FLAG_DL_OVERRUN need SCHED_DEADLINE"),
    ("process", "scheduler", {"policy": "SCHED_OTHER",
                              "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RESET_ON_FORK"]},
     'process.scheduler.flags[1]: duplicate flag "SCHED_FLAG_RESET_ON_FORK"'),
    ("process", "ioPriority", {"priority": 1}, "process.ioPriority.class: required"),
    ("process", "ioPriority", {"class": "IOPRIO_CLASS_NONE"}, 'process.ioPriority.class: unknown class "IOPRIO_CLASS_NONE"'),
    ("process", "ioPriority", {"class": "IOPRIO_CLASS_BE", "priority": 8},
     "process.ioPriority.priority: 8 is out of range [0, 7]"),
    ("process", "ioPriority", {"class": "IOPRIO_CLASS_BE", "priority": "4"},
     "process.ioPriority.priority: expected an integer"),
    ("linux", "memoryPolicy", {"nodes": "0"}, "linux.memoryPolicy.mode: required"),
    ("linux", "memoryPolicy", {"mode": "MPOL_FOO"}, 'linux.memoryPolicy.mode: unknown mode "MPOL_FOO"'),
    ("linux", "memoryPolicy", {"mode": "MPOL_BIND"}, "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"),
    ("linux", "memoryPolicy", {"mode": "MPOL_BIND", "nodes": "0-"},
     'linux.memoryPolicy.nodes: "0-" is not a node list like "0-3,5"'),
    ("linux", "memoryPolicy", {"mode": "MPOL_BIND", "nodes": "3-1"},
     'linux.memoryPolicy.nodes: "3-1" is not a node list like "0-3,5"'),
    ("linux", "memoryPolicy", {"mode": "MPOL_BIND", "nodes": "0,,1"},
     'linux.memoryPolicy.nodes: "0,,1" is not a node list like "0-3,5"'),
    ("linux", "memoryPolicy", {"mode": "MPOL_BIND", "nodes": "0-99999999999999999999"},
     "linux.memoryPolicy.nodes: node "),
    ("linux", "memoryPolicy", {"mode": "MPOL_BIND", "nodes": "1024"},
     "linux.memoryPolicy.nodes: node 1024 is above 1023"),
    ("linux", "memoryPolicy", {"mode": "MPOL_DEFAULT", "nodes": "0"},
     "linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes"),
    ("linux", "memoryPolicy", {"mode": "MPOL_LOCAL", "flags": ["MPOL_F_STATIC_NODES"]},
     "linux.memoryPolicy.flags: MPOL_LOCAL takes no flags"),
    ("linux", "memoryPolicy", {"mode": "MPOL_BIND", "nodes": "0",
                               "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]},
     "linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other"),
    ("linux", "memoryPolicy", {"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]},
     "linux.memoryPolicy.flags: MPOL_F_NUMA_BALANCING needs MPOL_BIND or MPOL_PREFERRED_MANY, not MPOL_INTERLEAVE"),
    ("linux", "memoryPolicy", {"mode": "MPOL_BIND", "nodes": "0", "flags": "MPOL_F_STATIC_NODES"},
     "linux.memoryPolicy.flags: expected an array"),
]


@pytest.mark.parametrize("section,key,value,expect", BAD, ids=[e for _, _, _, e in BAD])
def test_bad_value_refused_at_create(vessel, bundle, cid, section, key, value, expect):
    bundle.config[section][key] = value
    bundle.write()
    line = create_fails(vessel, bundle, cid, "config.json: " + expect)
    assert line.startswith(f"vessel: create {cid}: config.json: "), line


@needs_numa
def test_memory_policy_on_a_missing_node_fails_and_cleans_up(vessel, bundle, cid):
    """Valid syntax, but the host has no such node: the kernel refuses it in
    the init, and the half-made container is gone."""
    nodes = os.listdir("/sys/devices/system/node")
    missing = max(int(n[4:]) for n in nodes if n.startswith("node") and n[4:].isdigit()) + 1
    bundle.config["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": str(missing)}
    bundle.write()
    create_fails(vessel, bundle, cid, "linux.memoryPolicy: set_mempolicy: Invalid argument")


@pytest.mark.skipif(not os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"),
                    reason="no RT group scheduling on this host")
def test_realtime_without_rt_budget_fails_and_cleans_up(vessel, bundle, cid):
    """Under RT group scheduling a cgroup without an RT budget may not run
    realtime tasks: a clear error at create that says what is missing, not
    a container running at the wrong priority."""
    bundle.config["process"]["scheduler"] = {"policy": "SCHED_FIFO", "priority": 1}
    bundle.write()
    line = create_fails(vessel, bundle, cid, "process.scheduler: sched_setattr")
    assert "linux.resources.cpu.realtimeRuntime" in line
    assert line.endswith("Operation not permitted"), line


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
    assert lx["memoryPolicy"]["modes"] == [
        "MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
        "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"]
    assert lx["memoryPolicy"]["flags"] == [
        "MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES", "MPOL_F_NUMA_BALANCING"]
    ann = f["annotations"]
    assert ann["io.vessel.linux.personality.domains"] == "LINUX,LINUX32"
    assert ann["io.vessel.process.scheduler.policies"].split(",") == [
        "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_IDLE", "SCHED_DEADLINE"]
    assert ann["io.vessel.process.scheduler.flags"].split(",") == [
        "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN",
        "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS"]
    assert ann["io.vessel.process.ioPriority.classes"] == \
        "IOPRIO_CLASS_RT,IOPRIO_CLASS_BE,IOPRIO_CLASS_IDLE"
