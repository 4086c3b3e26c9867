"""`facedaemon bench`: the seed's design and facedaemon's pipeline, measured on the same clip in one run."""
