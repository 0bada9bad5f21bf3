from policydsl.cli.main import main

raise SystemExit(main())
