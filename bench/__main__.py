import sys

if sys.argv[1:2] == ["plans"]:  # BENCHMARKS.md section 9, a run of its own: python -m bench plans --help
    from bench.sweep_plans import main as plans_main

    raise SystemExit(plans_main(sys.argv[2:]))

from bench.harness import main

raise SystemExit(main())
