from retrieval.index.scale.bench import main

raise SystemExit(main())
