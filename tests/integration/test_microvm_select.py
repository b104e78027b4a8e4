"""Backend selection through the CLI (docs/microvm.md, "Selection"): the
io.vessel.backend annotation, vessel invoked as vessel-vm (a symlink, as
`make install` creates), Kubernetes sandbox containers, and the fail-fast
check of a microvm workload on a host without VT-x/AMD-V."""
import os

import pytest

from conftest import VESSEL, Vessel

HWVIRT = "VT-x/AMD-V"


def host_has_hwvirt():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return bool({"vmx", "svm"} & set(line.split()))
    return False


@pytest.fixture
def vessel_vm(tmp_path):
    """vessel through a vessel-vm symlink, with its own state root."""
    link = tmp_path / "bin" / "vessel-vm"
    link.parent.mkdir()
    link.symlink_to(VESSEL)
    v = Vessel(str(tmp_path / "vmstate"), binary=str(link))
    yield v
    root = v.root
    if os.path.isdir(root):
        for cid in os.listdir(root):
            v.run("delete", "--force", cid)


def left_behind(v):
    return os.listdir(v.root) if os.path.isdir(v.root) else []


def annotate(bundle, **ann):
    bundle.config["annotations"] = dict(ann)
    return bundle.args("echo", "hello").write()


def expect_microvm_refused(v, bundle, cid):
    p = v.run("run", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    assert "microvm" in p.stderr
    assert "hello" not in p.stdout
    if not host_has_hwvirt():
        # Fails first, on the host check, with the override named.
        assert HWVIRT in p.stderr and "io.vessel.vm.allow-emulated=true" in p.stderr, p.stderr
    assert left_behind(v) == []
    return p


def test_default_is_container(vessel, bundle, cid):
    annotate(bundle)
    p = vessel.run("run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "hello\n"


def test_annotation_selects_microvm(vessel, bundle, cid):
    annotate(bundle, **{"io.vessel.backend": "microvm"})
    expect_microvm_refused(vessel, bundle, cid)


def test_unknown_backend_named(vessel, bundle, cid):
    annotate(bundle, **{"io.vessel.backend": "qemu"})
    p = vessel.run("run", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    assert "annotation io.vessel.backend: unknown backend \"qemu\"" in p.stderr
    assert left_behind(vessel) == []


def test_vessel_vm_makes_every_workload_a_microvm(vessel_vm, bundle, cid):
    annotate(bundle)
    expect_microvm_refused(vessel_vm, bundle, cid)


def host_config_vessel(tmp_path, config, name="vessel-vm"):
    """vessel-vm seeing `config` as /etc/vessel/config.json, in a private
    mount namespace (an overlay on /etc over a tmpfs, and a tmpfs on
    /var/cache), so the host's /etc and caches are neither read nor
    changed."""
    link = tmp_path / "cfgbin" / name
    link.parent.mkdir()
    link.symlink_to(VESSEL)
    cfg = tmp_path / "host-config.json"
    cfg.write_text(config)
    ovl = tmp_path / "ovl"
    ovl.mkdir()
    setup = (f"mount -t tmpfs tmpfs {ovl} && mkdir {ovl}/u {ovl}/w && "
             f"mount -t overlay overlay -o lowerdir=/etc,upperdir={ovl}/u,workdir={ovl}/w /etc"
             f" && mount -t tmpfs tmpfs /var/cache"
             f" && mkdir -p /etc/vessel && cp {cfg} /etc/vessel/config.json && exec \"$0\" \"$@\"")
    wrapper = tmp_path / "cfgbin" / "run-with-config"
    wrapper.write_text(f"#!/bin/sh\nexec unshare -m /bin/sh -c '{setup}' {link} \"$@\"\n")
    wrapper.chmod(0o755)
    return Vessel(str(tmp_path / "cfgstate"), binary=str(wrapper))


CONTAINER_REFUSED = "annotation io.vessel.backend=container: refused under vessel-vm"


@pytest.mark.parametrize("config", [None, "{}", '{"vm":{"allow-container":false}}'])
def test_vessel_vm_refuses_container(vessel_vm, bundle, cid, tmp_path, config):
    """Review finding 6, the attack: a tenant on a VM RuntimeClass annotates
    its workload back into a container on the host's kernel."""
    annotate(bundle, **{"io.vessel.backend": "container"})
    v = vessel_vm if config is None else host_config_vessel(tmp_path, config)
    if config is None and os.path.exists("/etc/vessel/config.json"):
        pytest.skip("the host has /etc/vessel/config.json")
    p = v.run("run", "--bundle", bundle.path, cid)
    assert p.returncode != 0
    assert CONTAINER_REFUSED in p.stderr, p.stderr
    assert "hello" not in p.stdout
    assert left_behind(v) == []


def test_vessel_vm_container_allowed_by_host(bundle, cid, tmp_path):
    annotate(bundle, **{"io.vessel.backend": "container"})
    v = host_config_vessel(tmp_path, '{"vm":{"allow-container":true}}')
    try:
        p = v.run("run", "--bundle", bundle.path, cid)
        assert p.returncode == 0, p.stderr
        assert p.stdout == "hello\n"
    finally:
        v.run("delete", "--force", cid)


@pytest.mark.parametrize("key", ["io.kubernetes.cri.container-type",
                                 "io.kubernetes.cri-o.ContainerType"])
def test_vessel_vm_sandbox_stays_container(vessel_vm, bundle, cid, key):
    annotate(bundle, **{key: "sandbox"})
    p = vessel_vm.run("run", "--bundle", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "hello\n"


def test_vessel_vm_pod_container_is_microvm(vessel_vm, bundle, cid):
    annotate(bundle, **{"io.kubernetes.cri.container-type": "container"})
    expect_microvm_refused(vessel_vm, bundle, cid)


@pytest.mark.skipif(host_has_hwvirt(), reason="the host has VT-x/AMD-V: nothing to override")
def test_allow_emulated_skips_the_check(vessel, bundle, cid):
    annotate(bundle, **{"io.vessel.backend": "microvm", "io.vessel.vm.allow-emulated": "true"})
    p = vessel.run("run", "--bundle", bundle.path, cid)
    # Past the host check, create fails later (no guest, or no backend yet).
    assert p.returncode != 0
    assert HWVIRT not in p.stderr
    assert left_behind(vessel) == []


def test_kernel_annotation_cannot_pick_a_host_dir(bundle, cid, tmp_path):
    """Review finding 1, the attack through the release binary: with
    vm.kernel "/vmlinuz" the allowed directory was "/", so a bundle's
    io.vessel.vm.kernel naming its own cache-layout directory (junk vmlinuz,
    a modules.dep, kernel/virtio_mmio.ko -> /etc/shadow) reached the
    initramfs build, which packed the host file as a module."""
    evil = tmp_path / "evil" / "6.1.0-57-cloud-amd64"
    (evil / "kernel").mkdir(parents=True)
    (evil / "vmlinuz").write_bytes(b"junk")
    (evil / "modules.dep").write_text("kernel/virtio_mmio.ko:\n")
    (evil / "modules.builtin").write_text("".join(
        f"kernel/{m}.ko\n" for m in ("vmw_vsock_virtio_transport", "virtiofs", "virtio_net",
                                     "virtio_blk", "overlay", "virtio_rng")))
    (evil / "kernel" / "virtio_mmio.ko").symlink_to("/etc/shadow")
    v = host_config_vessel(tmp_path, '{"vm":{"kernel":"/vmlinuz"}}', name="vessel")
    for kernel in (str(evil), "/etc/shadow"):
        annotate(bundle, **{"io.vessel.backend": "microvm", "io.vessel.vm.allow-emulated": "true",
                            "io.vessel.vm.kernel": kernel})
        p = v.run("run", "--bundle", bundle.path, cid)
        assert p.returncode != 0
        assert (f'annotation io.vessel.vm.kernel: "{kernel}" is not a guest kernel this host '
                "provides") in p.stderr, p.stderr
        assert left_behind(v) == []
