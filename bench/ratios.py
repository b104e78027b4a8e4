"""Medians and vessel's ratios to its peers from a hyperfine JSON export.
argv: RESULT.json WHAT NAME... (the names in the order of the commands)."""
import json
import sys

res = json.load(open(sys.argv[1]))["results"]
what, names = sys.argv[2], sys.argv[3:]
med = {n: r["median"] * 1000 for n, r in zip(names, res)}
print()
print(f"runtime   median {what} (ms)")
for n in names:
    print(f"{n:8}  {med[n]:8.2f}")
for peer in ("crun", "runc"):
    if peer in med:
        print(f"vessel/{peer} median ratio: {med['vessel'] / med[peer]:.2f}x")
