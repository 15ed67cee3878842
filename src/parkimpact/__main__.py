from parkimpact.cli import main

raise SystemExit(main())
