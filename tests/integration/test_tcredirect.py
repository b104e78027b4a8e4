"""net/tcredirect in throwaway network namespaces: a "pod" namespace whose
veth leads to a "peer" namespace, and in the pod a tap redirected to the
veth both ways, as a VM in the pod would get it. A small responder plays the
VM on the tap (ARP and ICMP echo for 10.200.N.2), so a ping from the peer
goes veth -> tap and back tap -> veth. The library is reached through the
hidden helper build*/tests/test_tcredirect (not a vessel command). All
addresses are test-only 10.200.N.0/24, inside the namespaces only."""
import os
import random
import re
import subprocess
import sys
import uuid

import pytest

VESSEL = os.environ.get("VESSEL", os.path.join(os.path.dirname(__file__), "..", "..", "build", "vessel"))
HELPER = os.path.join(os.path.dirname(os.path.abspath(VESSEL)), "tests", "test_tcredirect")
TAP = "vmtap0"

# The VM: answers ARP and ICMP echo for one address on the tap (each frame
# behind the 10-byte virtio_net_hdr that IFF_VNET_HDR adds).
RESPONDER = r"""
import fcntl, os, struct, sys
tap, ip = sys.argv[1], bytes(int(x) for x in sys.argv[2].split('.'))
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH22x', tap.encode(), 0x0002 | 0x1000 | 0x4000))
mac = bytes.fromhex('020000c0ffee')
def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
print('ready', flush=True)
while True:
    f = os.read(fd, 65536)[10:]
    if len(f) < 42:
        continue
    src, et = f[6:12], f[12:14]
    if et == b'\x08\x06' and f[20:22] == b'\x00\x01' and f[38:42] == ip:
        arp = f[14:20] + b'\x00\x02' + mac + ip + f[22:28] + f[28:32]
        os.write(fd, bytes(10) + src + mac + et + arp)
    elif et == b'\x08\x00':
        ihl = (f[14] & 15) * 4
        iph = f[14:14 + ihl]
        tot = struct.unpack('!H', iph[2:4])[0]
        icmp = f[14 + ihl:14 + tot]
        if iph[9] != 1 or iph[16:20] != ip or not icmp or icmp[0] != 8:
            continue
        icmp = b'\0\0\0\0' + icmp[4:]
        icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
        iph = iph[:8] + b'\x40\x01\0\0' + iph[16:20] + iph[12:16] + iph[20:]
        iph = iph[:10] + struct.pack('!H', csum(iph)) + iph[12:]
        os.write(fd, bytes(10) + src + mac + et + iph + icmp)
"""


def sh(*cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=30)


class Pod:
    def __init__(self):
        tag = uuid.uuid4().hex[:8]
        self.pod, self.peer = f"vs-tcr-pod-{tag}", f"vs-tcr-peer-{tag}"
        self.net = f"10.200.{random.randint(1, 254)}"
        self.procs = []

    def in_pod(self, *cmd, check=True):
        return sh("ip", "netns", "exec", self.pod, *cmd, check=check)

    def in_peer(self, *cmd, check=True):
        return sh("ip", "netns", "exec", self.peer, *cmd, check=check)

    def ping(self, count):
        """busybox's ping (Debian's iputils-ping is not installed)."""
        return self.in_peer("/bin/busybox", "ping", "-c", str(count), "-W", "2", f"{self.net}.2", check=False)


@pytest.fixture
def pod():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not os.access(HELPER, os.X_OK):
        pytest.skip(f"{HELPER} not built (make unit-bins)")
    p = Pod()
    sh("ip", "netns", "add", p.pod)
    try:
        sh("ip", "netns", "add", p.peer)
        sh("ip", "-n", p.pod, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", p.peer)
        p.in_pod("ip", "link", "set", "eth0", "up")
        p.in_peer("ip", "addr", "add", f"{p.net}.1/24", "dev", "eth0")
        p.in_peer("ip", "link", "set", "eth0", "up")
        yield p
    finally:
        for proc in p.procs:
            proc.kill()
            proc.wait()
        sh("ip", "netns", "del", p.peer, check=False)
        sh("ip", "netns", "del", p.pod, check=False)


def mirred_packets(pod, dev):
    out = pod.in_pod("tc", "-s", "filter", "show", "dev", dev, "ingress").stdout
    m = re.search(r"Sent \d+ bytes (\d+) pkt", out)
    assert m, out
    return int(m.group(1))


def test_ping_through_the_tap(pod):
    r = pod.in_pod(HELPER, "--setup", "eth0", TAP, check=False)
    assert r.returncode == 0, r.stderr

    filters = pod.in_pod("tc", "filter", "show", "dev", "eth0", "ingress").stdout
    assert "u32" in filters and f"mirred (Egress Redirect to device {TAP})" in filters, filters
    filters = pod.in_pod("tc", "filter", "show", "dev", TAP, "ingress").stdout
    assert "u32" in filters and "mirred (Egress Redirect to device eth0)" in filters, filters
    before = mirred_packets(pod, "eth0"), mirred_packets(pod, TAP)

    vm = subprocess.Popen(["ip", "netns", "exec", pod.pod, sys.executable, "-c", RESPONDER, TAP, f"{pod.net}.2"],
                          stdout=subprocess.PIPE, text=True)
    pod.procs.append(vm)
    assert vm.stdout.readline().strip() == "ready"

    ping = pod.ping(3)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert re.search(r"3 (packets )?received", ping.stdout), ping.stdout
    after = mirred_packets(pod, "eth0"), mirred_packets(pod, TAP)
    assert after[0] >= before[0] + 4, (before, after)  # ARP + 3 echo requests, veth -> tap
    assert after[1] >= before[1] + 4, (before, after)  # ARP reply + 3 echo replies, tap -> veth

    vm.kill()
    vm.wait()
    r = pod.in_pod(HELPER, "--teardown", "eth0", TAP, check=False)
    assert r.returncode == 0, r.stderr
    assert pod.in_pod("ip", "link", "show", TAP, check=False).returncode != 0
    assert "ingress" not in pod.in_pod("tc", "qdisc", "show", "dev", "eth0").stdout
    assert pod.in_pod("tc", "filter", "show", "dev", "eth0", "ingress", check=False).stdout.strip() == ""
    # Without the redirect the "VM" is unreachable again: the test can fail.
    ping = pod.ping(1)
    assert ping.returncode == 1 and "0 packets received" in ping.stdout, ping.stdout + ping.stderr


def test_no_redirect_no_ping(pod):
    """The control: the same responder on a tap with no filters is not reached."""
    pod.in_pod("ip", "tuntap", "add", "dev", TAP, "mode", "tap", "vnet_hdr")
    pod.in_pod("ip", "link", "set", TAP, "up")
    vm = subprocess.Popen(["ip", "netns", "exec", pod.pod, sys.executable, "-c", RESPONDER, TAP, f"{pod.net}.2"],
                          stdout=subprocess.PIPE, text=True)
    pod.procs.append(vm)
    assert vm.stdout.readline().strip() == "ready"
    ping = pod.ping(1)
    assert ping.returncode == 1 and "0 packets received" in ping.stdout, ping.stdout + ping.stderr


def test_setup_failure_leaves_nothing(pod):
    r = pod.in_pod(HELPER, "--setup", "nosuchveth", TAP, check=False)
    assert r.returncode == 1 and "veth nosuchveth" in r.stderr, r.stderr
    # The tap name is taken (by the veth itself): refused, the veth untouched.
    r = pod.in_pod(HELPER, "--setup", "eth0", "eth0", check=False)
    assert r.returncode == 1 and "tap eth0" in r.stderr, r.stderr
    assert pod.in_pod("ip", "link", "show", "eth0").returncode == 0
    assert "ingress" not in pod.in_pod("tc", "qdisc", "show", "dev", "eth0").stdout
