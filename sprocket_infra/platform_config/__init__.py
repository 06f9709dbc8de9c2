"""Each platform service's settings, rendered from its catalog entry and what layer1 and layer2 provide."""
