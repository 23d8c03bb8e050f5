import sys

if sys.argv[1:2] == ["plans"]:  # BENCHMARKS.md section 9, a run of its own: python -m bench plans --help
    from bench.sweep_plans import main as plans_main

    raise SystemExit(plans_main(sys.argv[2:]))

if sys.argv[1:2] == ["sender"]:  # BENCHMARKS.md section 10, a run of its own: python -m bench sender --help
    from bench.sender_load import main as sender_main

    raise SystemExit(sender_main(sys.argv[2:]))

if sys.argv[1:2] == ["runcost"]:  # BENCHMARKS.md section 11, a run of its own: python -m bench runcost --help
    from bench.run_cost import main as runcost_main

    raise SystemExit(runcost_main(sys.argv[2:]))

if sys.argv[1:2] == ["tenants"]:  # BENCHMARKS.md section 12, a run of its own: python -m bench tenants --help
    from bench.tenants import main as tenants_main

    raise SystemExit(tenants_main(sys.argv[2:]))

from bench.harness import main

raise SystemExit(main())
