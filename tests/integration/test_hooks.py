"""OCI hooks: each kind runs at its point with the state on stdin, in
order; failures of the blocking kinds fail the operation cleanly."""
import json
import os
import stat
import time

import pytest

from test_errors import assert_nothing_left

# args (after argv[0], which a script does not see): kind log-dir
HOOK = """#!/bin/sh
cat > "$2/$1.json"
echo "$1" >> "$2/order"
"""


def write_hook(path, body):
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o755)


def test_all_hooks_run_in_order_with_state(vessel, bundle, cid, tmp_path):
    logdir = tmp_path / "hooklog"
    logdir.mkdir()
    host_hook = tmp_path / "hook.sh"
    write_hook(host_hook, HOOK)
    # startContainer runs inside the container: its path resolves in the rootfs
    write_hook(os.path.join(bundle.rootfs, "hook.sh"), HOOK)
    bundle.config["mounts"].append({"destination": "/hooklog", "type": "bind", "source": str(logdir),
                                    "options": ["rbind"]})
    hooks = {}
    for kind in ("prestart", "createRuntime", "createContainer", "poststart", "poststop"):
        hooks[kind] = [{"path": str(host_hook), "args": ["hook", kind, str(logdir)]}]
    hooks["startContainer"] = [{"path": "/hook.sh", "args": ["hook", "startContainer", "/hooklog"]}]
    bundle.config["hooks"] = hooks
    bundle.sh("echo program >> /hooklog/order").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    pid = vessel.state(cid)["pid"]
    vessel.run("start", cid, check=True)
    deadline = time.time() + 5
    while "program" not in (logdir / "order").read_text() and time.time() < deadline:
        time.sleep(0.05)
    vessel.run("delete", "--force", cid, check=True)
    order = (logdir / "order").read_text().split()
    # poststart runs after the program was exec'd; the program's own write may
    # land before or after it.
    assert order[:4] == ["prestart", "createRuntime", "createContainer", "startContainer"], order
    assert sorted(order[4:6]) == ["poststart", "program"] and order[6:] == ["poststop"], order
    # crun's statuses (docs/cli.md): "created" up to startContainer
    for kind, status in (("prestart", "created"), ("createRuntime", "created"), ("createContainer", "created"),
                         ("startContainer", "created"), ("poststart", "running"), ("poststop", "stopped")):
        st = json.loads((logdir / f"{kind}.json").read_text())
        assert st["id"] == cid and st["status"] == status, (kind, st)
        assert st["bundle"] == bundle.path
        if status != "stopped":
            assert st["pid"] == pid, kind


def test_failing_create_runtime_hook_fails_create(vessel, bundle, cid, tmp_path):
    hook = tmp_path / "fail.sh"
    write_hook(hook, "#!/bin/sh\nexit 3\n")
    bundle.config["hooks"] = {"createRuntime": [{"path": str(hook)}]}
    bundle.sh("true").write()
    p = vessel.run("create", "-b", bundle.path, cid)
    assert p.returncode != 0
    assert "hooks.createRuntime[0]" in p.stderr and "exited with status 3" in p.stderr
    assert_nothing_left(vessel, cid, bundle)


def test_hook_timeout(vessel, bundle, cid, tmp_path):
    hook = tmp_path / "slow.sh"
    write_hook(hook, "#!/bin/sh\nsleep 30\n")
    bundle.config["hooks"] = {"prestart": [{"path": str(hook), "timeout": 1}]}
    bundle.sh("true").write()
    start = time.time()
    p = vessel.run("create", "-b", bundle.path, cid)
    assert p.returncode != 0 and "timed out after 1 s" in p.stderr
    assert time.time() - start < 10
    assert_nothing_left(vessel, cid, bundle)


def test_failing_poststart_hook_only_warns(vessel, bundle, cid, tmp_path):
    hook = tmp_path / "fail.sh"
    write_hook(hook, "#!/bin/sh\nexit 1\n")
    bundle.config["hooks"] = {"poststart": [{"path": str(hook)}]}
    bundle.sh("echo ran").write()
    p = vessel.run("run", "-b", bundle.path, cid)
    assert p.returncode == 0 and p.stdout == "ran\n"
    assert "warning" in p.stderr and "hooks.poststart[0]" in p.stderr


def test_bad_hook_config(vessel, bundle, cid):
    bundle.config["hooks"] = {"prestart": [{"path": "relative/hook"}]}
    bundle.write()
    p = vessel.run("create", "-b", bundle.path, cid)
    assert p.returncode != 0 and "hooks.prestart[0].path" in p.stderr


def test_poststart_sees_the_program_already_running(vessel, bundle, cid, tmp_path):
    out = tmp_path / "cmdline"
    hook = tmp_path / "post.sh"
    write_hook(hook, "#!/bin/sh\npid=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p')\n"
                     "tr '\\0' ' ' < /proc/$pid/cmdline > \"$1\"\n")
    bundle.config["hooks"] = {"poststart": [{"path": str(hook), "args": ["post", str(out)]}]}
    bundle.args("sleep", "7").write()
    vessel.run("run", "-d", "-b", bundle.path, cid, check=True)
    assert out.read_text().strip() == "sleep 7"
    vessel.run("delete", "-f", cid, check=True)


def test_runtime_hooks_run_in_the_runtime_namespaces(vessel, bundle, cid, tmp_path):
    """Even when the container joins a network namespace by path (as pods
    do), createRuntime runs in the runtime's own namespaces."""
    from conftest import Bundle
    other = Bundle(str(tmp_path / "netns-holder"))
    other.sh("sleep 30").write()
    vessel.run("run", "-d", "-b", other.path, cid + "-net", check=True)
    holder = vessel.state(cid + "-net")["pid"]
    for n in bundle.config["linux"]["namespaces"]:
        if n["type"] == "network":
            n["path"] = f"/proc/{holder}/ns/net"
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    out = tmp_path / "ns"
    hook = tmp_path / "ns.sh"
    write_hook(hook, "#!/bin/sh\nreadlink /proc/self/ns/net /proc/self/ns/time > \"$1\"\n")
    bundle.config["hooks"] = {"createRuntime": [{"path": str(hook), "args": ["ns", str(out)]}]}
    bundle.sh("readlink /proc/self/ns/net").write()
    p = vessel.run("run", "-b", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == os.readlink(f"/proc/{holder}/ns/net")  # the container joined it
    assert out.read_text().split() == [os.readlink("/proc/self/ns/net"), os.readlink("/proc/self/ns/time")]
    vessel.run("delete", "-f", cid + "-net", check=True)


def test_large_annotations_reach_hooks(vessel, bundle, cid, tmp_path):
    out = tmp_path / "state.json"
    hook = tmp_path / "save.sh"
    write_hook(hook, "#!/bin/sh\ncat > \"$1\"\n")
    big = "x" * 300_000  # beyond a default unix datagram buffer
    bundle.config["annotations"] = {"org.example.big": big}
    bundle.config["hooks"] = {"createContainer": [{"path": str(hook), "args": ["save", str(out)]}]}
    bundle.sh("true").write()
    p = vessel.run("run", "-b", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    import json as _json
    assert _json.loads(out.read_text())["annotations"]["org.example.big"] == big


def test_failing_start_container_hook_fails_start(vessel, bundle, cid):
    write_hook(os.path.join(bundle.rootfs, "fail.sh"), "#!/bin/sh\nexit 9\n")
    bundle.config["hooks"] = {"startContainer": [{"path": "/fail.sh"}]}
    bundle.sh("echo should-not-run").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    p = vessel.run("start", cid)
    assert p.returncode != 0
    assert "hooks.startContainer[0]" in p.stderr and "exited with status 9" in p.stderr
    assert "should-not-run" not in p.stdout
    vessel.run("delete", "-f", cid, check=True)


@pytest.mark.parametrize("kind", ["poststart", "poststop"])
def test_failing_post_hook_does_not_stop_the_next(vessel, bundle, cid, tmp_path, kind):
    """runtime-spec: a failing poststart/poststop hook is a warning and the
    remaining hooks still run (crun; runc 1.1 stops at the first)."""
    fail, mark = tmp_path / "fail.sh", tmp_path / "mark.sh"
    write_hook(fail, "#!/bin/sh\nexit 4\n")
    write_hook(mark, f"#!/bin/sh\necho ran > {tmp_path}/second\n")
    bundle.config["hooks"] = {kind: [{"path": str(fail)}, {"path": str(mark)}]}
    bundle.sh("echo ok").write()
    p = vessel.run("run", "-b", bundle.path, cid)
    assert p.returncode == 0 and p.stdout == "ok\n", p.stderr
    assert f"hooks.{kind}[0]" in p.stderr and "exited with status 4" in p.stderr
    assert (tmp_path / "second").read_text() == "ran\n"
    assert_nothing_left(vessel, cid, bundle)


def test_hook_without_env_gets_the_runtime_environment(vessel, bundle, cid, tmp_path):
    hook = tmp_path / "env.sh"
    write_hook(hook, f"#!/bin/sh\necho \"$VESSEL_HOOK_PROBE\" > {tmp_path}/env\n")
    bundle.config["hooks"] = {"prestart": [{"path": str(hook)}],
                              "poststop": [{"path": str(hook), "env": ["VESSEL_HOOK_PROBE=given"]}]}
    bundle.sh("true").write()
    vessel.run("create", "-b", bundle.path, cid, check=True,
               env=dict(os.environ, VESSEL_HOOK_PROBE="from-runtime"))
    assert (tmp_path / "env").read_text() == "from-runtime\n"
    # a hook with env gets exactly that
    vessel.run("delete", "--force", cid, check=True)
    assert (tmp_path / "env").read_text() == "given\n"
