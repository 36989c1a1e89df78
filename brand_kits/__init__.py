"""Brand kits: a company's look (background, framing, sizes, colour grade, lighting, attire), versioned."""
