"""Long-tail baseline hooks (deferred re-weighting, post-hoc logit adjustment); one hook a file, auto-imported."""
