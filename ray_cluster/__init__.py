"""Ray actor pool around the inference pipeline: each actor loads the models once and serves many selfie sets."""
