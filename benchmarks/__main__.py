import argparse
import importlib
import json
import os
import pkgutil
import sys
import time

import benchmarks


def available() -> list:
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__)
                  if m.name.startswith("bench_"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=benchmarks.__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run ({', '.join(available())}) or 'all'")
    args = parser.parse_args(argv)
    # stdout carries JSON lines only: experiments run by a benchmark keep their progress display off
    os.environ.setdefault("NASCORE_PROGRESS", "off")
    names = available() if not args.names or args.names == ["all"] else args.names
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}")
    for name in names:
        started = time.perf_counter()
        for result in importlib.import_module(f"benchmarks.bench_{name}").run():
            print(json.dumps({"benchmark": name, **result}), flush=True)
        print(json.dumps({"benchmark": name, "harness_seconds": round(time.perf_counter() - started, 2)}),
              file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
