"""CLI surface: spec, features, logging, flags that must parse, locking."""
import json
import os
import subprocess
import threading
import time


def test_spec_writes_default_config(tmp_path, vessel):
    p = vessel.run("spec", "--bundle", tmp_path, check=True)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["root"]["path"] == "rootfs"
    assert cfg["process"]["args"] == ["sh"]
    assert {n["type"] for n in cfg["linux"]["namespaces"]} >= {"pid", "mount", "network", "uts", "ipc"}
    # a second spec refuses to overwrite
    p = vessel.run("spec", "--bundle", tmp_path)
    assert p.returncode != 0 and "already exists" in p.stderr


def test_spec_rootless(tmp_path, vessel):
    vessel.run("spec", "--rootless", "--bundle", tmp_path, check=True)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert "user" in {n["type"] for n in cfg["linux"]["namespaces"]}
    assert cfg["linux"]["uidMappings"][0]["hostID"] == os.getuid()


def test_features(vessel):
    f = json.loads(vessel.run("features", check=True).stdout)
    assert f["ociVersionMin"].startswith("1.0")
    assert set(f["hooks"]) == {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
    assert "rbind" in f["mountOptions"] and "rro" in f["mountOptions"]
    assert set(f["linux"]["namespaces"]) == {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"}
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert f["linux"]["cgroup"]["v1"] and f["linux"]["cgroup"]["v2"]


def test_log_file_json(vessel, bundle, cid, tmp_path):
    log = tmp_path / "log.json"
    bundle.args("/bin/missing").write()
    p = vessel.run("--log", log, "--log-format", "json", "create", "-b", bundle.path, cid)
    assert p.returncode != 0
    entries = [json.loads(l) for l in log.read_text().splitlines()]
    assert entries[-1]["level"] == "error"
    assert "/bin/missing" in entries[-1]["msg"]
    assert entries[-1]["time"].endswith("Z")


def test_log_file_text_and_debug(vessel, bundle, cid, tmp_path):
    log = tmp_path / "log.txt"
    bundle.sh("true").write()
    vessel.run("--log", log, "--debug", "run", "-b", bundle.path, cid, check=True)
    vessel.run("--log", log, "state", cid)
    text = log.read_text()
    assert f"level=debug msg=\"container {cid} created by the container backend" in text
    assert "level=error" in text and "does not exist" in text


def test_bad_log_format(vessel):
    p = vessel.run("--log-format", "xml", "list")
    assert p.returncode != 0 and "xml" in p.stderr


def test_create_accepts_runc_flags(vessel, bundle, cid, tmp_path):
    bundle.sh("true").write()
    vessel.run("create", "--bundle", bundle.path, "--no-new-keyring", "--pid-file", tmp_path / "p",
               "--preserve-fds", "0", cid, check=True)
    vessel.run("delete", cid, check=True)
    vessel.run("run", "--bundle", bundle.path, "--no-pivot", cid, check=True)


def test_concurrent_commands_are_serialised(vessel, bundle, cid):
    """Many parallel starts of one created container: exactly one wins."""
    bundle.sh("sleep 5").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    results = []

    def start():
        results.append(vessel.run("start", cid).returncode)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(0) == 1, results
    assert vessel.state(cid)["status"] == "running"
    vessel.run("delete", "-f", cid, check=True)


def test_state_file_is_replaced_atomically(vessel, bundle, cid):
    bundle.sh("sleep 5").write()
    vessel.run("create", "-b", bundle.path, cid, check=True)
    vessel.run("start", cid, check=True)
    files = sorted(os.listdir(os.path.join(vessel.root, cid)))
    assert "state.json" in files
    assert not [f for f in files if ".tmp" in f]
    vessel.run("delete", "-f", cid, check=True)
