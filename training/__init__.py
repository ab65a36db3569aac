"""Training recipes (run with `jianbao train --config FILE`)."""
