"""Our own API, `/api/v1/`: the pages' data and actions for scripts and support tools."""
