"""More reasoning formats, shipped as a third-party plugin distribution."""
