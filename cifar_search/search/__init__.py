"""What a search is made of, engine-neutral: trial outcomes, attribute keys and seeds."""
