"""Language models and embedders: locating packaged weights, loading them offline."""
