"""Start-up time: ``harness --version`` vs ``pytest --version``, same run.

Best of N wall-clock runs of each command as a fresh process. Target: ratio <= 1.0.

    python benchmarks/bench_startup.py [N]
"""

from __future__ import annotations

import subprocess
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 15


def best(argv: list[str]) -> float:
    times = []
    for _ in range(N):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    harness = best([sys.executable, "-m", "harness", "--version"])
    pytest = best([sys.executable, "-m", "pytest", "--version"])
    print(f"harness --version : {harness * 1000:7.1f} ms (best of {N})")
    print(f"pytest --version  : {pytest * 1000:7.1f} ms (best of {N})")
    print(f"ratio harness / pytest: {harness / pytest:.2f}x  (target <= 1.0)")


if __name__ == "__main__":
    main()
