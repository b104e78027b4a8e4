"""virtio-net on a tap, driven by the freestanding guest virtio_net: the MAC
and link status in config space, a frame out to the tap, a NEEDS_CSUM frame
that reaches the tap with a correct checksum, a frame in from the tap, a
hostile driver, and no tap left behind; TSO through the vnet header both
ways, merged receive buffers, lying GSO headers, and offloads only when
negotiated (the offload tests below). Each run happens in a throwaway
network namespace (unshare --net) holding only the test's tap, so nothing is
routed anywhere and nothing outlives the test."""
import json
import os
import struct
import subprocess

import pytest

from vmutil import VESSEL, guest, lines_with, needs_kvm

pytestmark = needs_kvm

MAC = "02:11:22:33:44:55"
TX_PAYLOAD = b"vessel-net-tx-payload"
RX_PAYLOAD = b"vessel-net-rx-payload"
UDP_PAYLOAD = b"vessel-net-csum-payload"

# Runs inside the namespace: sets the tap up (mode persistent: `ip tuntap
# add`; created: vessel makes it; fd: opened here and passed in), watches it
# with a packet socket, runs the VM, answers RXREADY with a frame for the
# guest, and reports as JSON.
PEER = r'''
import fcntl, json, os, socket, struct, subprocess, sys, time
mode, vessel, kernel, out_path = sys.argv[1:5]
extra = sys.argv[5:]
for k in ("all", "default"):
    with open(f"/proc/sys/net/ipv6/conf/{k}/disable_ipv6", "w") as f:
        f.write("1")  # no router solicitations or MLD on the tap
name = "vstap0"
def up():
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
pass_fds, net = (), f"tap={name},mac={MAC}"
sock = None
def listen():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((name, 0))
    s.settimeout(0.2)
    return s
if mode == "persistent":
    subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tap", "vnet_hdr"], check=True)
    up(); sock = listen()
elif mode == "fd":
    tfd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", name.encode(), 0x0002 | 0x1000 | 0x4000)
    fcntl.ioctl(tfd, 0x400454ca, ifr)  # TUNSETIFF: IFF_TAP|IFF_NO_PI|IFF_VNET_HDR
    os.set_inheritable(tfd, True)
    pass_fds, net = (tfd,), f"fd={tfd},mac={MAC}"
    up(); sock = listen()
out = open(out_path, "w")
p = subprocess.Popen([vessel, "vm", "run", "--kernel", kernel, "--net", net] + extra,
                     stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                     pass_fds=pass_fds)
def exists():
    try:
        return socket.if_nametoindex(name) > 0  # this namespace; /sys is the host's
    except OSError:
        return False
frames, existed, deadline = [], False, time.time() + 120
while "RXREADY" not in open(out_path).read() and p.poll() is None and time.time() < deadline:
    existed = existed or exists()
    if sock:
        try:
            data, addr = sock.recvfrom(65536)
            if addr[2] != socket.PACKET_OUTGOING:
                frames.append(data.hex())
        except socket.timeout:
            pass
    else:
        time.sleep(0.05)
existed = existed or exists()
if p.poll() is None and "RXREADY" in open(out_path).read():
    if not sock:
        up(); sock = listen()
    mac = bytes.fromhex(MAC.replace(":", ""))
    for _ in range(50):  # a just-raised link can take a moment
        try:
            sock.send(mac + bytes.fromhex("020000000001") + b"\x88\xb5" + RX_PAYLOAD)
            break
        except OSError:
            time.sleep(0.1)
    while time.time() < deadline and p.poll() is None:
        try:
            data, addr = sock.recvfrom(65536)
            if addr[2] != socket.PACKET_OUTGOING:
                frames.append(data.hex())
        except socket.timeout:
            pass
        except OSError:
            break  # the tap went away with the VM
try:
    _, err = p.communicate(timeout=max(1, deadline - time.time()))
except subprocess.TimeoutExpired:
    p.kill(); _, err = p.communicate()
if sock:
    sock.close()
if mode == "fd":
    os.close(tfd)
time.sleep(0.1)
print(json.dumps({"rc": p.returncode, "stdout": open(out_path).read(), "stderr": err.decode(),
                  "frames": frames, "existed": existed,
                  "after": exists()}))
'''


def run_in_netns(tmp_path, mode, *extra):
    script = f"MAC = {MAC!r}\nRX_PAYLOAD = {RX_PAYLOAD!r}\n" + PEER
    cmd = ["unshare", "--net", "/usr/bin/python3", "-c", script, mode, VESSEL,
           guest("virtio_net.bzImage"), str(tmp_path / "out")] + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def frames_of(res, ethertype):
    return [f for f in map(bytes.fromhex, res["frames"]) if f[12:14] == ethertype]


def check_traffic(res):
    assert res["rc"] == 0, res["stderr"]
    out = res["stdout"]
    assert lines_with(out, "MAC") == [MAC]
    assert lines_with(out, "LINK") == ["1"]
    assert lines_with(out, "TX") == ["used=0"]
    assert lines_with(out, "CSUMTX") == ["used=0"]
    # The plain frame, byte for byte, as the guest sent it.
    plain = frames_of(res, b"\x88\xb5")
    assert plain == [b"\xff" * 6 + bytes.fromhex(MAC.replace(":", "")) + b"\x88\xb5" + TX_PAYLOAD]
    # The NEEDS_CSUM frame arrives with its UDP checksum completed.
    (udp_frame,) = frames_of(res, b"\x08\x00")
    ip = udp_frame[14:34]
    udp = udp_frame[34:]
    assert udp[8:] == UDP_PAYLOAD
    ulen = struct.unpack("!H", udp[4:6])[0]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, ulen)
    assert struct.unpack("!H", udp[6:8])[0] != 0
    assert csum(pseudo + udp[:ulen]) == 0xFFFF
    # The host's frame reached the guest intact, in one buffer.
    assert lines_with(out, "RX") == [f"len={12 + 14 + len(RX_PAYLOAD)} ok=1 num_buffers=1"]
    assert "DONE" in out


def test_net_persistent_tap(tmp_path):
    res = run_in_netns(tmp_path, "persistent")
    check_traffic(res)
    assert res["after"]  # a tap vessel did not make is not vessel's to remove


def test_net_passed_fd(tmp_path):
    res = run_in_netns(tmp_path, "fd")
    check_traffic(res)
    assert not res["after"]  # the last fd closed: the tap went


def test_net_created_tap_goes_with_the_vm(tmp_path):
    res = run_in_netns(tmp_path, "created")
    assert res["rc"] == 0, res["stderr"]
    assert res["existed"]
    assert lines_with(res["stdout"], "RX")[0].startswith("len=")
    assert not res["after"]


def test_net_hostile_driver(tmp_path):
    res = run_in_netns(tmp_path, "persistent", "--cmdline", "hostile")
    assert res["rc"] == 0, res["stderr"]
    cases = dict(l.split(" ", 1) for l in lines_with(res["stdout"], "CASE"))
    for name in ("short_tx", "readonly_rx", "tx_outside", "avail_ahead", "bad_head"):
        assert cases.get(name) == "needs_reset=1", (name, res["stdout"])
    assert "device needs reset" in res["stderr"]
    # After a reset the device sends again.
    assert lines_with(res["stdout"], "TX") == ["used=0"]
    assert len(frames_of(res, b"\x88\xb5")) == 1
    assert "DONE" in res["stdout"]


@pytest.mark.parametrize("spec,msg", [
    ("bogus", "want tap=NAME or fd=N"),
    ("tap=", "tap=: 1-15 bytes"),
    ("tap=x" * 10, "1-15 bytes"),
    ("mac=02:00:00:00:00:01", "tap=NAME or fd=N is required"),
    ("tap=vs0,mac=zz:00:00:00:00:01", "want xx:xx:xx:xx:xx:xx"),
    ("tap=vs0,mac=01:00:00:00:00:01", "multicast"),
    ("fd=1", "want a number >= 3"),
    ("fd=99", "not a tap"),
])
def test_net_bad_option(tmp_path, spec, msg):
    p = subprocess.run(["unshare", "--net", VESSEL, "vm", "run", "--kernel",
                        guest("virtio_net.bzImage"), "--net", spec],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 1, p.stdout
    assert msg in p.stderr


# Offloads: vessel's tap vstap0 and a peer tap vspeer0 that this script holds
# (IFF_VNET_HDR, no offloads, so the kernel segments and checksums whatever
# it hands over), joined by tc mirred both ways. The guest's TSO frame must
# come out of vspeer0 as checksummed segments; a GSO frame written into
# vspeer0 reaches the guest whole (offload) or segmented (no offload).
GSO_PEER = r'''
import fcntl, json, os, select, struct, subprocess, sys, time
vessel, kernel, out_path, cmdline = sys.argv[1:5]
for k in ("all", "default"):
    with open(f"/proc/sys/net/ipv6/conf/{k}/disable_ipv6", "w") as f:
        f.write("1")
def sh(*a):
    subprocess.run(list(a), check=True)
sh("ip", "tuntap", "add", "dev", "vstap0", "mode", "tap", "vnet_hdr")
peer = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
fcntl.ioctl(peer, 0x400454ca, struct.pack("16sH", b"vspeer0", 0x0002 | 0x1000 | 0x4000))
for dev, other in (("vstap0", "vspeer0"), ("vspeer0", "vstap0")):
    sh("ip", "link", "set", dev, "up")
for dev, other in (("vstap0", "vspeer0"), ("vspeer0", "vstap0")):
    sh("tc", "qdisc", "add", "dev", dev, "ingress")
    sh("tc", "filter", "add", "dev", dev, "parent", "ffff:", "protocol", "all", "prio", "1",
       "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", other)
out = open(out_path, "w")
p = subprocess.Popen([vessel, "vm", "run", "--kernel", kernel, "--net", f"tap=vstap0,mac={MAC}",
                      "--cmdline", cmdline], stdout=out, stderr=subprocess.PIPE,
                     stdin=subprocess.DEVNULL)
frames, sent, again, deadline = [], False, False, time.time() + 120
def frame_in():
    mac = bytes.fromhex(MAC.replace(":", ""))
    pay = bytes((i * 13 + 5) & 0xff for i in range(4000))
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(pay), 7, 0x4000, 64, 6, 0,
                               bytes([10, 99, 0, 1]), bytes([10, 99, 0, 2])))
    s = sum(struct.unpack("!10H", ip))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    ip[10:12] = struct.pack("!H", ~s & 0xffff)
    ps = sum(struct.unpack("!4H", ip[12:20])) + 6 + 20 + len(pay)
    while ps >> 16:
        ps = (ps & 0xffff) + (ps >> 16)
    tcp = struct.pack("!HHIIBBHHH", 4321, 80, 1, 0, 0x50, 0x18, 65535, ps, 0)
    hdr = struct.pack("<BBHHHH", 1, 1, 54, 1000, 34, 16)  # NEEDS_CSUM, TCPV4
    return hdr + mac + bytes.fromhex("020000000001") + b"\x08\x00" + bytes(ip) + tcp + pay
while time.time() < deadline:
    text = open(out_path).read()
    if not sent and "RXREADY" in text:
        os.write(peer, frame_in())
        sent = True
    if not again and "RXAGAIN" in text:
        os.write(peer, frame_in())
        again = True
    r, _, _ = select.select([peer], [], [], 0.1)
    if r:
        try:
            frames.append(os.read(peer, 70000).hex())
        except BlockingIOError:
            pass
    elif p.poll() is not None:
        break
_, err = p.communicate(timeout=30)
print(json.dumps({"rc": p.returncode, "stdout": open(out_path).read(), "stderr": err.decode(),
                  "frames": frames, "sent": sent}))
'''


def run_gso(tmp_path, cmdline):
    script = f"MAC = {MAC!r}\n" + GSO_PEER
    cmd = ["unshare", "--net", "/usr/bin/python3", "-c", script, VESSEL,
           guest("virtio_net.bzImage"), str(tmp_path / "out"), cmdline]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert res["rc"] == 0, res["stderr"]
    assert "DONE" in res["stdout"], res["stdout"]
    return res


def tcp_segments(res):
    """The guest's TCP frames as they left vspeer0 (10-byte vnet header
    stripped): (sport, seq, payload), each checksum checked."""
    segs = []
    for raw in map(bytes.fromhex, res["frames"]):
        vh, f = raw[:10], raw[10:]
        if f[12:14] != b"\x08\x00" or f[23] != 6:
            continue
        assert vh[1] == 0, "the peer tap has no offloads: no GSO comes out"
        ip = f[14:34]
        assert csum(ip) == 0xFFFF
        tot = struct.unpack("!H", ip[2:4])[0]
        tcp = f[34:14 + tot]
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
        assert csum(pseudo + tcp) == 0xFFFF, "segment checksum"
        sport, _, seq = struct.unpack("!HHI", tcp[:8])
        segs.append((sport, seq, tcp[20:]))
    return segs


GUEST_PAYLOAD = bytes((i * 7 + 3) & 0xFF for i in range(4000))
HOST_SUM = sum((i * 13 + 5) & 0xFF for i in range(4000))


def test_net_offloads_negotiated(tmp_path):
    res = run_gso(tmp_path, "gso offload")
    out = res["stdout"]
    offered = int(lines_with(out, "OFFERED")[0], 16)
    for bit in (1, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16):  # GUEST_*, HOST_*, MRG_RXBUF, STATUS
        assert offered & (1 << bit), (bit, hex(offered))
    assert lines_with(out, "FEATURES_OK") == ["1"]
    # Guest TSO: the honest frame leaves the peer tap as four checksummed
    # segments of at most gso_size; none of the six lies reaches it.
    segs = tcp_segments(res)
    assert {s[0] for s in segs} == {1234}, segs
    assert [s[1] for s in segs] == [1, 1001, 2001, 3001]
    assert all(len(s[2]) == 1000 for s in segs)
    assert b"".join(s[2] for s in segs) == GUEST_PAYLOAD
    # The plain frame after the lies still goes out: the VMM carried on.
    assert any(bytes.fromhex(f)[10 + 12:10 + 14] == b"\x88\xb5" for f in res["frames"])
    assert "needs reset" not in res["stderr"]
    # Host GSO frame: one frame in the guest, with its GSO header, across
    # two merged 2048-byte buffers. After a reset without offloads the same
    # frame comes segmented: the tap's offloads went back to none.
    assert res["sent"]
    first, second = out.split("RXAGAIN")
    assert lines_with(first, "RXF") == [f"nbuf=2 flags=1 gso=1 gso_size=1000 len={12 + 54 + 4000} csum=2"]
    assert lines_with(second, "RXF") == [f"nbuf=1 flags=0 gso=0 gso_size=0 len={12 + 54 + 1000} csum=1"] * 4
    assert lines_with(out, "RXDONE") == [f"bytes=4000 sum={HOST_SUM}"] * 2


def test_net_no_offload_unless_asked(tmp_path):
    res = run_gso(tmp_path, "gso")
    out = res["stdout"]
    # HOST_TSO4 not negotiated: even the honest TSO frame is dropped.
    assert tcp_segments(res) == []
    assert any(bytes.fromhex(f)[10 + 12:10 + 14] == b"\x88\xb5" for f in res["frames"])
    # GUEST_TSO4 not negotiated: the tap was told of no offload, so the
    # kernel segmented and checksummed the host's GSO frame for the guest.
    assert res["sent"]
    assert lines_with(out, "RXF") == [f"nbuf=1 flags=0 gso=0 gso_size=0 len={12 + 54 + 1000} csum=1"] * 4
    assert lines_with(out, "RXDONE") == [f"bytes=4000 sum={HOST_SUM}"]


def test_net_gso_needs_csum_negotiated(tmp_path):
    """HOST_TSO4 accepted without the CSUM it depends on: the driver broke
    the spec's rule, so its TSO frames are dropped like unnegotiated ones."""
    res = run_gso(tmp_path, "gso offload nocsum")
    assert tcp_segments(res) == []
    assert any(bytes.fromhex(f)[10 + 12:10 + 14] == b"\x88\xb5" for f in res["frames"])
    assert lines_with(res["stdout"], "RXDONE") == [f"bytes=4000 sum={HOST_SUM}"] * 2
