"""Running a command on a pty of the test's own, as from a user's shell
(podman -t/-it and ctr -t want a console)."""
import os
import select
import subprocess
import time


def on_pty(argv, send=b"", timeout=60):
    """Run argv on a pty of ours (as from a user's shell), type send once it
    prints "ready"; returns its output and exit code."""
    master, slave = os.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out, sent, end = b"", False, time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                d = os.read(master, 4096)
            except OSError:
                break
            if not d:
                break
            out += d
        if send and not sent and b"ready" in out:
            os.write(master, send)
            sent = True
        if proc.poll() is not None and not r:
            break
    rc = proc.wait(timeout=10)
    os.close(master)
    return out.decode(errors="replace").replace("\r", ""), rc
