"""One module per app: populate(tenant) -> {url parameter name: object of that tenant}, for the isolation matrix."""
