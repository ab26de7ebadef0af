from grokkit.cli import main

raise SystemExit(main())
