"""Company-scale rollouts: a team or the whole organization moved through generation, in a bounded window."""
